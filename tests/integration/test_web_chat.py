"""The web chat (adapters/web/chat_*) against the real engine, outbox dispatcher and database,
under a real uvicorn: a typed message becomes the engine's message once per client id, the
bot's answers come back as server-sent events through the outbox, a reconnecting browser gets
what it missed (Last-Event-ID), an agent reply shown live counts as read, and bad requests get
a clear 4xx."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from adapters.web.chat_wiring import WebChat, build_web_chat
from adapters.web.session import PortalSessions
from bot.dispatcher import OutboxDispatcher
from bot.web_chat import web_address
from frontdoor.settings import Settings
from frontdoor.wiring import Services, build_engine, build_services
from storage.database import Database
from storage.models import CaseMessageRow, CaseRow, IdentityRow, ProcessedEventRow
from storage.portal_queries import SqlPortalQueries
from storage.web_chat_store import SqlWebChatStore
from tests.fakes import FakeClassifier
from tests.integration.serve_relay_support import UvicornServer

SECRET = "w" * 40
WAIT = 15.0
RULES = {"never arrived": "shipping", "hello": "greet"}
ORDER = "123-1234567-1234567"


@dataclass
class ChatServer:
    services: Services
    web: WebChat
    dispatcher: OutboxDispatcher
    http: httpx.AsyncClient
    sessions: PortalSessions

    def scalar(self, stmt: Any) -> Any:
        with self.services.database.sessions() as session:
            return session.scalar(stmt)

    async def login(self, seller_id: int) -> str:
        """Log the client in as ``seller_id``; the session's CSRF token."""
        answer = await self.http.get(f"/test-login/{seller_id}")
        assert answer.status_code == 200
        return answer.text

    async def post(self, csrf: str | None, body: Any, raw: bytes | None = None) -> httpx.Response:
        headers = {"Content-Type": "application/json"}
        if csrf is not None:
            headers["X-CSRF-Token"] = csrf
        return await self.http.post("/web/chat/messages", headers=headers,
                                    content=raw if raw is not None else json.dumps(body))


@contextlib.asynccontextmanager
async def chat_server(db: Database, **values: Any) -> AsyncIterator[ChatServer]:
    settings = Settings(_env_file=None, frontdoor_database_url=db.url,  # type: ignore[call-arg]
                        **values)
    services = build_services(settings, database=db)
    engine = build_engine(services, FakeClassifier(dict(RULES), default=None))
    web = build_web_chat(SqlWebChatStore(db), services.uow_factory, engine.handle,
                         services.clock.now, poll_seconds=0.5, files=SqlPortalQueries(db),
                         max_file_bytes=settings.frontdoor_max_attachment_mb * 1_000_000)
    dispatcher = services.dispatcher([web.sender], idle_poll=0.2)
    sessions = PortalSessions(SECRET, "http://127.0.0.1", timedelta(hours=1))

    async def test_login(request: Request) -> Response:
        seller_id = int(request.path_params["seller_id"])
        response = Response("", media_type="text/plain")
        sessions.start(response, seller_id)
        # The CSRF token of the session just started: read back from its own cookie.
        from http.cookies import SimpleCookie

        cookie: SimpleCookie = SimpleCookie(response.headers["set-cookie"])
        scope = dict(request.scope)
        scope["headers"] = [(b"cookie", f"frontdoor_portal={cookie['frontdoor_portal'].value}"
                             .encode())]
        response.body = (sessions.csrf_token(Request(scope)) or "").encode()
        response.headers["content-length"] = str(len(response.body))
        return response

    app = Starlette(routes=[*web.routes, Route("/test-login/{seller_id:int}", test_login)])
    app.state.portal_sessions = sessions
    server = UvicornServer(app)
    base = await server.start()
    stop = asyncio.Event()
    delivering = asyncio.create_task(dispatcher.run_forever(stop))
    try:
        async with httpx.AsyncClient(base_url=base, timeout=WAIT) as http:
            yield ChatServer(services, web, dispatcher, http, sessions)
    finally:
        stop.set()
        await asyncio.wait_for(delivering, WAIT)
        await server.stop()


def add_seller(services: Services, name: str = "Ada's Shop") -> int:
    with services.uow_factory() as uow:
        seller = uow.sellers.add(None, name, services.clock.now())
        uow.commit()
        return seller.id


class Stream:
    """One browser's event stream: the lines it received, by id."""

    def __init__(self) -> None:
        self.lines: list[dict[str, Any]] = []
        self.changed = asyncio.Event()

    async def read(self, http: httpx.AsyncClient, last_event_id: int | None = None) -> None:
        headers = {"Last-Event-ID": str(last_event_id)} if last_event_id is not None else {}
        async with http.stream("GET", "/web/chat/events", headers=headers) as response:
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            async for line in response.aiter_lines():
                if line.startswith("data: "):
                    self.lines.append(json.loads(line[6:]))
                    self.changed.set()

    async def wait_for(self, text: str) -> dict[str, Any]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + WAIT
        while True:
            for line in self.lines:
                if text in line.get("text", ""):
                    return line
            self.changed.clear()
            remaining = deadline - loop.time()
            assert remaining > 0, f"no line with {text!r} in {[x.get('text') for x in self.lines]}"
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.changed.wait(), remaining)


async def test_a_message_opens_a_case_and_answers_arrive_live_exactly_once(db: Database) -> None:
    async with chat_server(db) as chat:
        seller_id = add_seller(chat.services)
        csrf = await chat.login(seller_id)
        stream = Stream()
        reading = asyncio.create_task(stream.read(chat.http))
        try:
            client_id = uuid.uuid4().hex
            body = {"id": client_id, "text": f"My parcel for order {ORDER} never arrived"}
            answer = await chat.post(csrf, body)
            assert answer.status_code == 202, answer.text
            # The browser retries (it did not see the answer): processed once.
            assert (await chat.post(csrf, body)).status_code == 202
            prompt = await stream.wait_for("Open it?")
            labels = [b["label"] for b in prompt["buttons"]]
            assert any("Open" in label for label in labels), labels
            # The seller's own line is in the chat once, with its client id.
            mine = [x for x in stream.lines if x.get("client_id") == client_id]
            assert len(mine) == 1 and mine[0]["author"] == "seller"
            button = next(b for b in prompt["buttons"] if "Open the case" in b["label"])
            pressed = {"id": uuid.uuid4().hex, "button": button}
            assert (await chat.post(csrf, pressed)).status_code == 202
            opened = await stream.wait_for("Opened")
            number = opened["case_number"]
            assert number and chat.scalar(select(func.count()).select_from(CaseRow)) == 1
            # The case belongs to the seller, opened from their web identity.
            identity = chat.scalar(select(IdentityRow).where(IdentityRow.channel == "web"))
            assert identity.seller_id == seller_id
            assert identity.address == web_address(seller_id)
            assert chat.scalar(select(CaseRow.identity_id)) == identity.id
            assert chat.scalar(select(func.count()).select_from(ProcessedEventRow).where(
                ProcessedEventRow.event_id == f"web-{client_id}")) == 1
            prompts = [x for x in stream.lines if "Open it?" in x.get("text", "")]
            assert len(prompts) == 1

            # An agent answers (the CLI's way): through the outbox to the web chat, live. It is
            # read once the panel says the seller saw it, not merely because it arrived.
            await asyncio.to_thread(chat.services.cases.agent_reply, number, "cli",
                                    "We found the parcel, it arrives tomorrow.", "Bo")
            reply = await stream.wait_for("We found the parcel")
            assert reply["author"] == "bot" and reply["case_message_id"]

            def read_at() -> object:
                return chat.scalar(select(CaseMessageRow.read_at).where(
                    CaseMessageRow.id == reply["case_message_id"]))

            assert read_at() is None
            # Another seller cannot mark it read by naming its line.
            other_csrf = await chat.login(add_seller(chat.services, "Other Shop"))
            other = await chat.http.post("/web/chat/seen", json={"lines": [reply["id"]]},
                                         headers={"X-CSRF-Token": other_csrf})
            assert other.status_code == 200 and other.json() == {"read": 0}
            assert read_at() is None
            csrf = await chat.login(seller_id)
            seen = await chat.http.post("/web/chat/seen", json={"lines": [reply["id"]]},
                                        headers={"X-CSRF-Token": csrf})
            assert seen.status_code == 200 and seen.json() == {"read": 1}
            assert read_at() is not None
        finally:
            reading.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reading

        # A browser that was away reconnects with the last id it had: it gets what followed.
        first_id = stream.lines[0]["id"]
        again = Stream()
        catch_up = asyncio.create_task(again.read(chat.http, last_event_id=first_id))
        try:
            await again.wait_for("We found the parcel")
            assert [x["id"] for x in again.lines] == [x["id"] for x in stream.lines[1:]][
                :len(again.lines)]
            assert all(x["id"] > first_id for x in again.lines)
        finally:
            catch_up.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await catch_up


async def test_bad_requests_get_a_clear_4xx_and_nothing_is_processed(
        sqlite_db: Database, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="adapters.web.chat_routes")
    async with chat_server(sqlite_db) as chat:
        # No session.
        assert (await chat.post(None, {"id": "a" * 16, "text": "hi"})).status_code == 401
        assert (await chat.http.get("/web/chat/events")).status_code == 401
        seller_id = add_seller(chat.services)
        csrf = await chat.login(seller_id)
        cases = [
            (None, {"id": "a" * 16, "text": "hi"}, None, 403),
            ("forged", {"id": "a" * 16, "text": "hi"}, None, 403),
            (csrf, None, b"{not json", 400),
            (csrf, ["a list"], None, 400),
            (csrf, {"id": "short", "text": "hi"}, None, 400),
            (csrf, {"id": "a" * 16}, None, 400),
            (csrf, {"id": "a" * 16, "text": "   "}, None, 400),
            (csrf, {"id": "a" * 16, "button": "Open"}, None, 400),
            (csrf, {"id": "a" * 16, "button": {"payload": 5}}, None, 400),
            (csrf, {"id": "a" * 16, "text": "x" * 5000}, None, 413),
        ]
        for token, body, raw, status in cases:
            answer = await chat.post(token, body, raw)
            assert answer.status_code == status, (body, answer.text)
            assert answer.json()["error"]
        for token, body, status in ((None, {"lines": [1]}, 403), (csrf, {"lines": "1"}, 400),
                                    (csrf, {"lines": [True]}, 400), (csrf, [1], 400),
                                    (csrf, {"lines": list(range(201))}, 400)):
            headers = {"X-CSRF-Token": token} if token else {}
            answer = await chat.http.post("/web/chat/seen", json=body, headers=headers)
            assert answer.status_code == status, (body, answer.text)
        bad_id = await chat.http.get("/web/chat/events", headers={"Last-Event-ID": "x1"})
        assert bad_id.status_code == 400
        assert chat.scalar(select(func.count()).select_from(ProcessedEventRow)) == 0
        assert "web chat POST /web/chat/messages refused (403)" in caplog.text


async def test_email_command_in_the_web_chat_mails_a_confirmation_link(db: Database) -> None:
    from storage.models import OutboxRow

    async with chat_server(db, frontdoor_smtp_url="smtp://127.0.0.1:9") as chat:
        seller_id = add_seller(chat.services)
        csrf = await chat.login(seller_id)
        stream = Stream()
        reading = asyncio.create_task(stream.read(chat.http))
        try:
            for text in ("/email not-an-address", "/email Ada@Example.com"):
                answer = await chat.post(csrf, {"id": uuid.uuid4().hex, "text": text})
                assert answer.status_code == 202
            await stream.wait_for("is not an email address")
            await stream.wait_for("I sent a confirmation link to Ada@example.com")
            mails = chat.scalar(select(func.count()).select_from(OutboxRow).where(
                OutboxRow.destination == "email", OutboxRow.kind == "email.verify"))
            assert mails == 1
            assert (await chat.post(csrf, {"id": uuid.uuid4().hex, "text": "/email"})
                    ).status_code == 202
            await stream.wait_for("Waiting for confirmation: Ada@example.com")
        finally:
            reading.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reading


async def test_email_command_says_when_email_is_not_set_up(sqlite_db: Database) -> None:
    from storage.models import OutboxRow

    async with chat_server(sqlite_db) as chat:  # no FRONTDOOR_SMTP_URL
        csrf = await chat.login(add_seller(chat.services))
        stream = Stream()
        reading = asyncio.create_task(stream.read(chat.http))
        try:
            answer = await chat.post(csrf, {"id": uuid.uuid4().hex, "text": "/email a@b.co"})
            assert answer.status_code == 202
            await stream.wait_for("Email notifications are not available here")
            assert chat.scalar(select(func.count()).select_from(OutboxRow).where(
                OutboxRow.destination == "email")) == 0
        finally:
            reading.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reading


async def test_a_message_the_database_could_not_store_is_sent_again_and_processed_once(
        db: Database, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    async with chat_server(db) as chat:
        seller_id = add_seller(chat.services)
        csrf = await chat.login(seller_id)
        store_line = SqlWebChatStore.add_seller_line
        down = {"left": 1}

        def outage_once(self: SqlWebChatStore, *args: Any, **kwargs: Any) -> Any:
            if down["left"]:
                down["left"] -= 1
                raise ConnectionError("the database went away")
            return store_line(self, *args, **kwargs)

        monkeypatch.setattr(SqlWebChatStore, "add_seller_line", outage_once)
        body = {"id": uuid.uuid4().hex, "text": "hello"}
        first = await chat.post(csrf, body)
        # Not a bare 500: the panel is told to send the same message again.
        assert first.status_code == 503, first.text
        assert first.json()["retry"] is True and first.json()["error"]
        assert "the panel sends it again" in caplog.text
        assert chat.scalar(select(func.count()).select_from(ProcessedEventRow)) == 0
        again = await chat.post(csrf, body)
        assert again.status_code == 202, again.text
        assert chat.scalar(select(func.count()).select_from(ProcessedEventRow).where(
            ProcessedEventRow.event_id == f"web-{body['id']}")) == 1
