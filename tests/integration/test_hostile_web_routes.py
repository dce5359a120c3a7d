"""Hostile input to the HTTP routes sellers' browsers use: the seller portal, its web chat,
the login links and the email pages. Through the whole `frontdoor serve` app (uvicorn, the
stand-ins, a local SMTP server) on SQLite and PostgreSQL.

Whatever is sent — malformed or nested bodies, wrong content types, oversized text or files,
unknown case numbers, another seller's case or file, missing or forged sessions and CSRF
tokens, used, expired or forged tokens, absurd query strings, non-UTF-8, huge headers — the
answer is a clear 4xx with a log line, never a 5xx or a traceback, and nothing is lost: a
valid request sent right after works. The fuzz over every route is test_fuzz_web_routes.py;
requests sent at the same time (exactly once) are test_web_routes_once.py; both use this
module's server and helpers.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections.abc import AsyncIterator
from contextlib import aclosing
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from bot.dialogue.cleaning import is_storable
from storage.database import Database
from storage.models import CaseMessageRow, WebChatLineRow
from tests.integration.portal_client import csrf_of, seller_in
from tests.integration.serve_relay_support import ORDER, Served, serving
from tests.integration.test_email_smtp import Mailbox, smtp_server

PUBLIC = "http://portal.example"
SECRET = "hostile-web-routes-secret-of-32-chars-at-least"
JSON = "application/json"
FORM = "application/x-www-form-urlencoded"


@pytest.fixture
async def served(db: Database) -> AsyncIterator[Served]:
    async with smtp_server(Mailbox()) as port, serving(
            db, frontdoor_portal=True, frontdoor_public_url=PUBLIC,
            frontdoor_session_secret=SECRET, frontdoor_max_attachment_mb=1,
            frontdoor_smtp_url=f"smtp://127.0.0.1:{port}") as running:
        yield running


@dataclass
class Seller:
    """A seller logged in to the portal: their client, the session's CSRF token, a case."""

    seller_id: int
    client: httpx.AsyncClient
    csrf: str
    number: str
    file_id: int = 0
    headers: dict[str, str] = field(default_factory=dict)

    def chat_headers(self, content_type: str = JSON) -> dict[str, str]:
        return {"X-CSRF-Token": self.csrf, "Content-Type": content_type}


async def logged_in(served: Served, name: str) -> Seller:
    seller_id, client = await seller_in(served, name)
    cases = served.services.cases
    number = (await asyncio.to_thread(cases.open_case, seller_id, "shipping",
                                      f"{name}'s parcel never arrived", ORDER)).case.number
    csrf = await csrf_of(client)
    seller = Seller(seller_id, client, csrf, number)
    queries: Any = served.parts.extra["portal"].queries
    seller.file_id = await asyncio.to_thread(queries.add_file, seller_id, "invoice.pdf",
                                             "application/pdf", b"%PDF-1.4 invoice",
                                             served.services.clock.now())
    return seller


def _client_id() -> str:
    return uuid.uuid4().hex


def _multipart(boundary: str, parts: list[tuple[str, str | None, bytes]]) -> bytes:
    """A multipart body by hand (so it can be wrong): (field, file name, content)."""
    chunks = []
    for name, file_name, content in parts:
        disposition = f'form-data; name="{name}"'
        if file_name is not None:
            disposition += f'; filename="{file_name}"'
        head = f"--{boundary}\r\nContent-Disposition: {disposition}\r\n\r\n"
        # A lone surrogate in a name is sent as the bytes it would be: invalid UTF-8.
        chunks.append(head.encode("utf-8", "surrogatepass") + content + b"\r\n")
    return b"".join(chunks) + f"--{boundary}--\r\n".encode()


@dataclass(frozen=True)
class Hostile:
    """One bad request: what is sent, the status expected."""

    name: str
    method: str
    path: str
    status: int
    content: bytes | None = None
    content_type: str | None = None
    params: dict[str, str] | None = None
    headers: dict[str, Any] = field(default_factory=dict)
    as_seller: bool = True  # sent with the seller's session cookie


def hostile_requests(me: Seller, other: Seller) -> list[Hostile]:
    csrf = {"X-CSRF-Token": me.csrf}
    deep = b"[" * 200_000 + b"]" * 200_000
    return [
        # The web chat's messages.
        Hostile("chat without session", "POST", "/web/chat/messages", 401,
                json.dumps({"id": _client_id(), "text": "hi"}).encode(), JSON, as_seller=False),
        Hostile("chat without CSRF", "POST", "/web/chat/messages", 403,
                json.dumps({"id": _client_id(), "text": "hi"}).encode(), JSON),
        Hostile("chat forged CSRF", "POST", "/web/chat/messages", 403,
                json.dumps({"id": _client_id(), "text": "hi"}).encode(), JSON,
                headers={"X-CSRF-Token": "A" * 43}),
        Hostile("chat non-UTF-8", "POST", "/web/chat/messages", 400,
                b'{"id": "' + _client_id().encode() + b'", "text": "\xff\xfe\xfa"}', JSON, headers=csrf),
        Hostile("chat deeply nested", "POST", "/web/chat/messages", 400, deep[:900_000], JSON,
                headers=csrf),
        Hostile("chat form instead of JSON", "POST", "/web/chat/messages", 415,
                f"id={_client_id()}&text=hi".encode(), FORM, headers=csrf),
        Hostile("chat no content type", "POST", "/web/chat/messages", 415,
                json.dumps({"id": _client_id(), "text": "hi"}).encode(), None, headers=csrf),
        Hostile("chat only control characters", "POST", "/web/chat/messages", 400,
                json.dumps({"id": _client_id(), "text": "\x00\x01\u200b"}).encode(), JSON,
                headers=csrf),
        Hostile("chat text too long", "POST", "/web/chat/messages", 413,
                json.dumps({"id": _client_id(), "text": "x" * 50_000}).encode(), JSON, headers=csrf),
        Hostile("chat body over the cap", "POST", "/web/chat/messages", 413,
                b'{"text": "' + b"x" * 2_000_000 + b'"}', JSON, headers=csrf),
        Hostile("chat huge client id", "POST", "/web/chat/messages", 400,
                json.dumps({"id": "a" * 5000, "text": "hi"}).encode(), JSON, headers=csrf),
        Hostile("chat button not an object", "POST", "/web/chat/messages", 400,
                json.dumps({"id": _client_id(), "button": [1, 2]}).encode(), JSON, headers=csrf),
        Hostile("chat wrong method", "PUT", "/web/chat/messages", 405,
                b"{}", JSON, headers=csrf),
        # Seen marks.
        Hostile("seen huge id", "POST", "/web/chat/seen", 400,
                json.dumps({"lines": [2**70]}).encode(), JSON, headers=csrf),
        Hostile("seen deeply nested", "POST", "/web/chat/seen", 400, deep[:900_000], JSON,
                headers=csrf),
        Hostile("seen non-UTF-8", "POST", "/web/chat/seen", 400, b"\xff\xfe", JSON,
                headers=csrf),
        Hostile("seen form", "POST", "/web/chat/seen", 415, b"lines=1", FORM, headers=csrf),
        Hostile("seen without CSRF", "POST", "/web/chat/seen", 403,
                json.dumps({"lines": [1]}).encode(), JSON),
        # The event stream.
        Hostile("events without session", "GET", "/web/chat/events", 401, as_seller=False),
        Hostile("events superscript id", "GET", "/web/chat/events", 400,
                headers={"Last-Event-ID": "²".encode()}),
        Hostile("events huge id", "GET", "/web/chat/events", 400,
                params={"after": "9" * 40}),
        Hostile("events negative id", "GET", "/web/chat/events", 400,
                headers={"Last-Event-ID": "-1"}),
        # Files from the chat.
        Hostile("chat files as JSON", "POST", "/web/chat/files", 415, b"{}", JSON,
                headers=csrf),
        Hostile("chat files without boundary", "POST", "/web/chat/files", 400,
                b"garbage", "multipart/form-data", headers=csrf),
        Hostile("chat files broken multipart", "POST", "/web/chat/files", 400,
                b"--b\r\nno headers at all", "multipart/form-data; boundary=b", headers=csrf),
        Hostile("chat files no file", "POST", "/web/chat/files", 400,
                _multipart("b", [("id", None, _client_id().encode())]),
                "multipart/form-data; boundary=b", headers=csrf),
        Hostile("chat files too many", "POST", "/web/chat/files", 413,
                _multipart("b", [("id", None, _client_id().encode())]
                           + [("file", f"f{n}.txt", b"x") for n in range(8)]),
                "multipart/form-data; boundary=b", headers=csrf),
        Hostile("chat file too big", "POST", "/web/chat/files", 413,
                _multipart("b", [("id", None, _client_id().encode()),
                                 ("file", "big.bin", b"x" * 1_100_000)]),
                "multipart/form-data; boundary=b", headers=csrf),
        Hostile("chat files non-UTF-8 caption", "POST", "/web/chat/files", 400,
                _multipart("b", [("id", None, b"\xff\xfe"), ("text", None, b"\xff")]),
                "multipart/form-data; boundary=b", headers=csrf),
        # The portal's pages: unknown and others' cases and files.
        Hostile("unknown case", "GET", "/portal/cases/CX-999999", 404),
        Hostile("garbage case number", "GET", "/portal/cases/%00%ff..", 404),
        Hostile("another seller's case", "GET", f"/portal/cases/{other.number}", 404),
        Hostile("another seller's file", "GET", f"/portal/files/{other.file_id}", 404),
        Hostile("unknown file", "GET", "/portal/files/999999999", 404),
        Hostile("superscript file id", "GET", "/portal/files/%C2%B2", 404),
        Hostile("huge file id", "GET", "/portal/files/" + "9" * 30, 404),
        Hostile("superscript agent file", "GET",
                f"/portal/cases/{me.number}/agent-files/1/%C2%B2", 404),
        Hostile("another seller's agent file", "GET",
                f"/portal/cases/{other.number}/agent-files/1/0", 404),
        Hostile("reply to another seller's case", "POST", f"/portal/cases/{other.number}/reply",
                404, f"csrf_token={me.csrf}&text=mine+now".encode(), FORM),
        Hostile("reply without CSRF", "POST", f"/portal/cases/{me.number}/reply", 403,
                b"text=hello+there", FORM),
        Hostile("reply without session", "POST", f"/portal/cases/{me.number}/reply", 401,
                f"csrf_token={me.csrf}&text=hello".encode(), FORM, as_seller=False),
        Hostile("reply forged session", "POST", f"/portal/cases/{me.number}/reply", 401,
                f"csrf_token={me.csrf}&text=hello".encode(), FORM, as_seller=False,
                headers={"Cookie": "frontdoor_portal=eyJ4Ijoi.QUFBQQ"}),
        Hostile("reply broken multipart", "POST", f"/portal/cases/{me.number}/reply", 403,
                b"--b\r\nbroken", "multipart/form-data; boundary=b"),
        Hostile("reply text field over 64 kB", "POST", f"/portal/cases/{me.number}/reply", 400,
                _multipart("b", [("csrf_token", None, me.csrf.encode()),
                                 ("text", None, b"x" * 70_000)]),
                "multipart/form-data; boundary=b"),
        Hostile("reply file too big", "POST", f"/portal/cases/{me.number}/reply", 413,
                _multipart("b", [("csrf_token", None, me.csrf.encode()),
                                 ("files", "big.bin", b"x" * 1_100_000)]),
                "multipart/form-data; boundary=b"),
        Hostile("evaluate unknown level", "POST", f"/portal/cases/{me.number}/evaluate", 400,
                f"csrf_token={me.csrf}&level=%00%ff".encode(), FORM),
        Hostile("new case with foreign kept files", "POST", "/portal/cases/new", 400,
                f"csrf_token={me.csrf}&case_type=nonsense&description=x".encode(), FORM),
        Hostile("unknown action", "POST", f"/portal/cases/{me.number}/explode", 404,
                f"csrf_token={me.csrf}".encode(), FORM),
        # Login links.
        Hostile("forged login link", "GET", "/portal/login/" + "A" * 60 + ".QUFB", 404,
                as_seller=False),
        Hostile("mangled login link", "GET", "/portal/login/%C3%A9.%00", 404, as_seller=False),
        Hostile("huge login link", "GET", "/portal/login/" + "a." * 3000, 404, as_seller=False),
        Hostile("login post without form token", "POST", "/portal/login/x.y", 403,
                b"csrf_token=abc", FORM, as_seller=False),
        Hostile("login post with a file", "POST", "/portal/login/x.y", 400,
                _multipart("b", [("csrf_token", None, b"x"), ("f", "a.txt", b"x")]),
                "multipart/form-data; boundary=b", as_seller=False),
        Hostile("logout broken multipart", "POST", "/portal/logout", 403,
                b"--b\r\nbroken", "multipart/form-data; boundary=b"),
        # Email.
        Hostile("forged verification link", "GET", "/email/verify/" + "x" * 43, 404,
                as_seller=False),
        Hostile("huge verification link", "GET", "/email/verify/" + "x" * 5000, 404,
                as_seller=False),
        Hostile("email settings without session", "POST", "/portal/email", 401,
                b"address=a%40b.example", FORM, as_seller=False),
        Hostile("email settings without CSRF", "POST", "/portal/email", 403,
                b"address=a%40b.example", FORM),
        Hostile("email settings not an address", "POST", "/portal/email", 400,
                f"csrf_token={me.csrf}&address=%00%0d%0aBcc:+x@y".encode(), FORM),
        Hostile("email settings broken multipart", "POST", "/portal/email", 403,
                b"--b\r\nbroken", "multipart/form-data; boundary=b"),
        Hostile("email settings with files", "POST", "/portal/email", 400,
                _multipart("b", [("csrf_token", None, me.csrf.encode())]
                           + [("f", f"{n}.txt", b"x") for n in range(2)]),
                "multipart/form-data; boundary=b"),
        # Headers.
        Hostile("huge cookie header", "GET", "/portal/cases", 401,
                headers={"Cookie": "x=" + "y" * 100_000}, as_seller=False),
    ]


async def send(served: Served, me: Seller, bad: Hostile) -> httpx.Response:
    client = me.client if bad.as_seller else served.http
    headers: dict[str, Any] = dict(bad.headers)
    if bad.content_type is not None:
        headers["Content-Type"] = bad.content_type
    request = client.build_request(bad.method, bad.path, content=bad.content,
                                   params=bad.params, headers=headers)
    if bad.content_type is None and bad.content is not None:
        request.headers.pop("Content-Type", None)
    return await client.send(request)


def _our_logs(records: list[logging.LogRecord]) -> list[logging.LogRecord]:
    return [r for r in records if r.name.split(".")[0] in ("adapters", "frontdoor", "bot")]


async def test_hostile_requests_get_a_clear_4xx_and_a_log_line_and_lose_nothing(
        served: Served, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    me = await logged_in(served, "Ada")
    other = await logged_in(served, "Bo")
    async with aclosing(me.client), aclosing(other.client):
        wrong: list[tuple[str, object, str, list[str]]] = []
        for bad in hostile_requests(me, other):
            caplog.clear()
            try:
                answer = await send(served, me, bad)
            except httpx.HTTPError as exc:  # the server broke the connection
                wrong.append((bad.name, type(exc).__name__, str(exc)[:120], []))
                continue
            logged = _our_logs(caplog.records)
            tracebacks = [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]
            if (answer.status_code != bad.status or "Traceback" in answer.text
                    or not answer.text.strip() or tracebacks
                    or not logged):
                wrong.append((bad.name, answer.status_code, answer.text[:120],
                              [r.getMessage()[:120] for r in caplog.records]))
        assert wrong == [], "\n".join(map(repr, wrong))

        # Nothing lost: the seller's own case and file are still theirs, and valid requests
        # of both kinds work right after.
        page = await me.client.get(f"/portal/cases/{me.number}")
        assert page.status_code == 200 and "parcel never arrived" in page.text
        assert (await me.client.get(f"/portal/files/{me.file_id}")).content == \
            b"%PDF-1.4 invoice"
        replied = await me.client.post(f"/portal/cases/{me.number}/reply",
                                       data={"csrf_token": me.csrf, "text": "still waiting"})
        assert replied.status_code == 303
        chat = await me.client.post("/web/chat/messages", headers=me.chat_headers(),
                                    json={"id": _client_id(), "text": "hello"})
        assert chat.status_code == 202, chat.text


async def test_text_with_nul_and_lone_surrogates_is_stored_clean(served: Served) -> None:
    """What a browser cannot normally send but a script can: a NUL in a search, a reply, a
    chat line, a new case. Stored without the characters no database takes, never a 500."""
    me = await logged_in(served, "Ada")
    async with aclosing(me.client):
        search = await me.client.get("/portal/cases", params={
            "q": "parcel\x00%_", "page": "99999999999999999999", "status": "<script>"})
        assert search.status_code == 200 and "<script>" not in search.text
        replied = await me.client.post(f"/portal/cases/{me.number}/reply",
                                       data={"csrf_token": me.csrf, "text": "still\x00 lost"})
        assert replied.status_code == 303, replied.text
        opened = await me.client.post("/portal/cases/new", data={
            "csrf_token": me.csrf, "case_type": "payment", "order_id": "",
            "description": "My payout\x00 for last week never reached the bank",
            "kept_files": "²,1" + "9" * 30})
        assert opened.status_code in (200, 303), opened.text
        raw = (f'{{"id": "{_client_id()}", '
               '"text": "lone \\ud800 surrogate \\u0000 and NUL"}').encode()
        chat = await me.client.post("/web/chat/messages", content=raw,
                                    headers=me.chat_headers())
        assert chat.status_code == 202, chat.text
    with served.services.database.sessions() as session:
        texts = list(session.scalars(select(CaseMessageRow.text)))
        lines = [json.dumps(p, ensure_ascii=False) for p in
                 session.scalars(select(WebChatLineRow.payload))]
    assert any("still lost" in t for t in texts), texts
    assert [t for t in texts if not is_storable(t)] == []
    assert any("lone  surrogate" in line or "lone surrogate" in line for line in lines)
    assert [line for line in lines if "\\u0000" in line or not is_storable(line)] == []


async def test_headers_over_uvicorns_limit_are_refused_with_400(
        served: Served, caplog: pytest.LogCaptureFixture) -> None:
    """Headers are read whole before any handler runs; past h11's limit uvicorn answers 400
    itself and logs it, without reading the rest, and the server goes on serving."""
    caplog.set_level(logging.INFO)
    url = httpx.URL(str(served.http.base_url))
    reader, writer = await asyncio.open_connection(url.host, url.port)
    try:
        writer.write(b"GET /portal/cases HTTP/1.1\r\nHost: x\r\nCookie: x=")
        try:
            for _ in range(32):  # 2 MB of one header, in pieces
                writer.write(b"y" * 65_536)
                await writer.drain()
        except ConnectionError:
            pass  # the server answered and closed without reading it all
        status_line = await asyncio.wait_for(reader.readline(), 15)
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()
    assert status_line.startswith(b"HTTP/1.1 400"), status_line
    assert "Invalid HTTP request" in caplog.text
    assert (await served.http.get("/healthz")).status_code == 200
