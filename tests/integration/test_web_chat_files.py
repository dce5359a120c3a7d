"""Images and files from the web chat panel (adapters/web/chat_uploads.py) against the real
engine, database and uvicorn: a file with a caption is added to the seller's case as the
message's attachments (source ``web``, bytes kept with the portal's files, fetchable by the
Slack sender's file source), once per client id even when the browser posts it again; a
photo sent before any case goes into the case it opens; refused uploads (too big, too many,
empty, not a form, no session or CSRF token) get a clear 4xx and a log line, and leave nothing
behind. The Slack thread end of it is in test_web_chat_browser.py."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from adapters.web.uploads import PortalFileSource
from storage.database import Database
from storage.models import CaseMessageRow, CaseRow, PortalFileRow, ProcessedEventRow, WebChatLineRow
from storage.portal_queries import SqlPortalQueries
from tests.integration.test_web_chat import ORDER, ChatServer, Stream, add_seller, chat_server

PDF = b"%PDF-1.7\n" + bytes(range(256)) * 8
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(255, -1, -1)) * 4


async def post_files(chat: ChatServer, csrf: str | None, client_id: str,
                     files: list[tuple[str, bytes, str]], text: str = "") -> httpx.Response:
    headers = {"X-CSRF-Token": csrf} if csrf is not None else {}
    return await chat.http.post(
        "/web/chat/files", headers=headers, data={"id": client_id, "text": text},
        files=[("file", (name, content, mime)) for name, content, mime in files])


async def open_case(chat: ChatServer, csrf: str, stream: Stream) -> str:
    said = {"id": uuid.uuid4().hex, "text": f"My parcel for order {ORDER} never arrived"}
    assert (await chat.post(csrf, said)).status_code == 202
    prompt = await stream.wait_for("Open it?")
    button = next(b for b in prompt["buttons"] if "Open the case" in b["label"])
    assert (await chat.post(csrf, {"id": uuid.uuid4().hex, "button": button})).status_code == 202
    opened = await stream.wait_for("Opened")
    return str(opened["case_number"])


@contextlib.asynccontextmanager
async def reading(chat: ChatServer) -> Any:
    stream = Stream()
    task = asyncio.create_task(stream.read(chat.http))
    try:
        yield stream
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_files_with_a_caption_join_the_case_once_like_a_chat_file(db: Database) -> None:
    async with chat_server(db) as chat:
        csrf = await chat.login(add_seller(chat.services))
        async with reading(chat) as stream:
            await send_files_to_a_case(chat, csrf, stream, db)


async def send_files_to_a_case(chat: ChatServer, csrf: str, stream: Stream,
                               db: Database) -> None:
    number = await open_case(chat, csrf, stream)

    client_id = uuid.uuid4().hex
    files = [("label.pdf", PDF, "application/pdf"), ("damage.png", PNG, "image/png")]
    answer = await post_files(chat, csrf, client_id, files, "the label and the damage")
    assert answer.status_code == 202, answer.text
    # The browser did not see the answer and posts again: the same message, once.
    again = await post_files(chat, csrf, client_id, files, "the label and the damage")
    assert again.status_code == 202, again.text
    await stream.wait_for("Added to")

    mine = [x for x in stream.lines if x.get("client_id") == client_id]
    assert len(mine) == 1 and mine[0]["kind"] == "file"
    assert mine[0]["file_name"] == "label.pdf, damage.png"
    assert chat.scalar(select(func.count()).select_from(PortalFileRow)) == 2
    assert chat.scalar(select(func.count()).select_from(ProcessedEventRow).where(
        ProcessedEventRow.event_id == f"web-{client_id}")) == 1
    with chat.services.database.sessions() as session:
        message = session.scalar(select(CaseMessageRow).where(
            CaseMessageRow.text.contains("the label and the damage")))
        assert message is not None
        attachments = list(message.attachments)
        case = session.get(CaseRow, message.case_id)
        assert case is not None and case.number == number
    assert [(a["kind"], a["file_name"], a["source"], a["size"]) for a in attachments] == [
        ("document", "label.pdf", "web", len(PDF)), ("photo", "damage.png", "web", len(PNG))]
    # What the Slack sender fetches for the thread: the same bytes.
    source = PortalFileSource(SqlPortalQueries(db))
    fetched = [await source.fetch(a["file_id"]) for a in attachments]
    assert [(f.name, f.content) for f in fetched] == [("label.pdf", PDF), ("damage.png", PNG)]


async def test_refused_uploads_say_why_with_a_4xx_a_log_line_and_leave_nothing(
        sqlite_db: Database, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="adapters.web.chat_routes")
    async with chat_server(sqlite_db, frontdoor_max_attachment_mb=1) as chat:
        one = [("a.pdf", PDF, "application/pdf")]
        assert (await post_files(chat, None, uuid.uuid4().hex, one)).status_code == 401
        csrf = await chat.login(add_seller(chat.services))
        big = b"x" * 1_000_001
        cases: list[tuple[str | None, str, list[tuple[str, bytes, str]], str, int, str]] = [
            (None, uuid.uuid4().hex, one, "", 403, "out of date"),
            ("forged", uuid.uuid4().hex, one, "", 403, "out of date"),
            (csrf, uuid.uuid4().hex, [("video.mp4", big, "video/mp4")], "", 413,
             "video.mp4 is over the 1 MB limit per file"),
            (csrf, uuid.uuid4().hex, [(f"{n}.pdf", PDF, "application/pdf") for n in range(6)],
             "", 413, "At most 5 files"),
            (csrf, uuid.uuid4().hex, [], "only a caption", 400, "Choose a file"),
            (csrf, uuid.uuid4().hex, [("empty.txt", b"", "text/plain")], "", 400, "empty"),
            (csrf, "bad id", one, "", 400, "could not be read"),
            (csrf, uuid.uuid4().hex, one, "x" * 4001, 413, "limited to 4000 characters"),
        ]
        for token, client_id, files, text, status, says in cases:
            if not files:  # a form without files: multipart all the same
                answer = await chat.http.post(
                    "/web/chat/files", headers={"X-CSRF-Token": token or ""},
                    files={"text": (None, text), "id": (None, client_id)})
            else:
                answer = await post_files(chat, token, client_id, files, text)
            assert answer.status_code == status, (client_id, answer.text)
            assert says in answer.json()["error"], answer.text
        json_body = await chat.http.post("/web/chat/files", headers={"X-CSRF-Token": csrf},
                                         json={"id": uuid.uuid4().hex, "file": "a.pdf"})
        assert json_body.status_code == 415 and "multipart" in json_body.json()["error"]
        # A text message's id cannot be replayed as files.
        text_id = uuid.uuid4().hex
        assert (await chat.post(csrf, {"id": text_id, "text": "hello"})).status_code == 202
        reused = await post_files(chat, csrf, text_id, one)
        assert reused.status_code == 409
        assert chat.scalar(select(func.count()).select_from(PortalFileRow)) == 0
        assert chat.scalar(select(func.count()).select_from(WebChatLineRow).where(
            WebChatLineRow.client_id != text_id, WebChatLineRow.author == "seller")) == 0
        assert chat.scalar(select(func.count()).select_from(ProcessedEventRow).where(
            ProcessedEventRow.event_id != f"web-{text_id}")) == 0
        assert "web chat POST /web/chat/files refused (413): video.mp4 is over" in caplog.text
        assert "refused (415)" in caplog.text


async def test_a_photo_sent_first_goes_into_the_case_it_opens(sqlite_db: Database) -> None:
    async with chat_server(sqlite_db) as chat:
        csrf = await chat.login(add_seller(chat.services))
        async with reading(chat) as stream:
            answer = await post_files(chat, csrf, uuid.uuid4().hex,
                                      [("parcel.png", PNG, "image/png")],
                                      f"My parcel for order {ORDER} never arrived")
            assert answer.status_code == 202, answer.text
            prompt = await stream.wait_for("Open it?")
            button = next(b for b in prompt["buttons"] if "Open the case" in b["label"])
            pressed = {"id": uuid.uuid4().hex, "button": button}
            assert (await chat.post(csrf, pressed)).status_code == 202
            await stream.wait_for("Opened")
        with chat.services.database.sessions() as session:
            message = session.scalar(select(CaseMessageRow).where(
                CaseMessageRow.text.contains("never arrived")))
            assert message is not None
            assert [(a["file_name"], a["source"]) for a in message.attachments] == [
                ("parcel.png", "web")]
