"""Exactly once on the routes sellers' browsers use, under requests sent at the same time,
through the whole `frontdoor serve` app on SQLite and PostgreSQL: a web chat message or file
posted several times at once is processed once, a login link redeemed by several browsers at
once logs in once, an email verification link opened several times at once verifies once;
and a seller cannot hold chat event streams open without end.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from contextlib import aclosing
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import func, select

from adapters.web.chat_routes import MAX_STREAMS
from bot.portal_login import PortalLogin
from storage.database import Database
from storage.models import CaseMessageRow, ProcessedEventRow, WebChatLineRow
from tests.integration import test_hostile_web_routes as hostile
from tests.integration.portal_client import csrf_in, seller_in
from tests.integration.serve_relay_support import ORDER, Served, serving
from tests.integration.test_email_smtp import Mailbox, smtp_server
from tests.integration.test_hostile_web_routes import (
    PUBLIC,
    SECRET,
    _client_id,
    _multipart,
    logged_in,
)

# The whole serve app with the portal, web chat and email on (SQLite and PostgreSQL).
served = hostile.served


async def test_a_web_chat_message_posted_twice_at_once_is_processed_once(
        served: Served) -> None:
    me = await logged_in(served, "Ada")
    async with aclosing(me.client):
        client_id = _client_id()
        body = {"id": client_id, "text": f"Order {ORDER}: where is my refund?"}
        answers = await asyncio.gather(*(
            me.client.post("/web/chat/messages", headers=me.chat_headers(), json=body)
            for _ in range(4)))
        # One processed it; a post arriving while it was processed is told to send it again
        # (409 with retry), and later ones are answered as done.
        assert all(a.status_code in (202, 409) for a in answers), [a.text for a in answers]
        assert any(a.status_code == 202 for a in answers)
        again = await me.client.post("/web/chat/messages", headers=me.chat_headers(), json=body)
        assert again.status_code == 202

        def count(model: type, *where: Any) -> int:
            with served.services.database.sessions() as session:
                return int(session.scalar(select(func.count()).select_from(model).where(*where))
                           or 0)

        assert count(ProcessedEventRow, ProcessedEventRow.event_id == f"web-{client_id}") == 1
        assert count(WebChatLineRow, WebChatLineRow.client_id == client_id) == 1
        assert count(CaseMessageRow, CaseMessageRow.text.contains("where is my refund")) <= 1


async def test_a_login_link_redeemed_twice_at_once_logs_in_once(served: Served) -> None:
    seller_id, first = await seller_in(served, "Ada")
    await first.aclose()
    portal: Any = served.parts.extra["portal"]
    token = portal.login.issue_token(seller_id)
    base = str(served.http.base_url)
    clients = [httpx.AsyncClient(base_url=base, timeout=15) for _ in range(4)]
    try:
        forms = []
        for client in clients:
            page = await client.get(f"/portal/login/{token}")
            assert page.status_code == 200
            forms.append(await _login_csrf(page))
        answers = await asyncio.gather(*(
            client.post(f"/portal/login/{token}", data={"csrf_token": form})
            for client, form in zip(clients, forms, strict=True)))
        statuses = sorted(a.status_code for a in answers)
        assert statuses == [303, 410, 410, 410], [a.text[:200] for a in answers]
        logged_in_clients = [c for c, a in zip(clients, answers, strict=True)
                             if a.status_code == 303]
        assert (await logged_in_clients[0].get("/portal/cases")).status_code == 200
        for client, answer in zip(clients, answers, strict=True):
            if answer.status_code == 410:
                assert (await client.get("/portal/cases")).status_code == 401
                assert "already been used" in answer.text or "used" in answer.text
    finally:
        for client in clients:
            await client.aclose()

    # An expired link (signed with the same secret) and a tampered one: refused.
    late = PortalLogin(PUBLIC, SECRET, None, lifetime=timedelta(minutes=-1))
    expired = await served.http.get(f"/portal/login/{late.issue_token(seller_id)}")
    assert expired.status_code == 410
    tampered = await served.http.get(f"/portal/login/{token[:-3]}xyz")
    assert tampered.status_code == 404


async def _login_csrf(page: httpx.Response) -> str:
    return csrf_in(page.text)


async def test_files_posted_twice_at_once_from_the_chat_reach_the_case_once(
        served: Served) -> None:
    me = await logged_in(served, "Ada")
    async with aclosing(me.client):
        opened = await me.client.post("/web/chat/messages", headers=me.chat_headers(), json={
            "id": _client_id(), "text": f"Order {ORDER}: my parcel never arrived"})
        assert opened.status_code == 202
        client_id = _client_id()
        body = _multipart("b", [("id", None, client_id.encode()),
                                ("text", None, b"the label"),
                                ("file", "label.pdf", b"%PDF-1.4 label")])
        headers = me.chat_headers("multipart/form-data; boundary=b")
        answers = await asyncio.gather(*(
            me.client.post("/web/chat/files", headers=headers, content=body) for _ in range(3)))
        assert all(a.status_code in (202, 409) for a in answers), [a.text for a in answers]
        assert any(a.status_code == 202 for a in answers)
    with served.services.database.sessions() as session:
        lines = session.scalar(select(func.count()).select_from(WebChatLineRow).where(
            WebChatLineRow.client_id == client_id))
        processed = session.scalar(select(func.count()).select_from(ProcessedEventRow).where(
            ProcessedEventRow.event_id == f"web-{client_id}"))
        with_label = [m for m in session.scalars(select(CaseMessageRow))
                      if any(a.get("file_name") == "label.pdf" for a in m.attachments or [])]
    assert (lines, processed) == (1, 1)
    assert len(with_label) <= 1


async def test_an_email_link_opened_twice_at_once_verifies_once(db: Database) -> None:
    mailbox = Mailbox()
    async with smtp_server(mailbox) as port, serving(
            db, frontdoor_portal=True, frontdoor_public_url=PUBLIC,
            frontdoor_session_secret=SECRET,
            frontdoor_smtp_url=f"smtp://127.0.0.1:{port}") as served:
        seller_id, client = await seller_in(served, "Ada")
        async with aclosing(client):
            form = await client.get("/portal/email")
            csrf = csrf_in(form.text)
            asked = await client.post("/portal/email", data={
                "csrf_token": csrf, "address": "ada@example.com"})
            assert asked.status_code == 303
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 15
        while not mailbox.received:
            assert loop.time() < deadline, "no confirmation mail"
            await asyncio.sleep(0.05)
        mail = mailbox.received[0].get_payload(decode=True)
        link = re.search(rf"{re.escape(PUBLIC)}(/email/verify/\S+)", bytes(mail).decode())
        assert link
        answers = await asyncio.gather(*(served.http.get(link.group(1)) for _ in range(3)))
        assert sorted(a.status_code for a in answers)[0] == 200
        assert [a.status_code for a in answers].count(200) == 1, [a.status_code for a in answers]
        assert all(a.status_code in (200, 404, 410) for a in answers)
        email = served.services.cases.email_of(seller_id)
        assert email is not None and email.address == "ada@example.com"


async def test_a_seller_holds_at_most_so_many_chat_streams_open(served: Served) -> None:
    """Each open event stream polls the database: a seller opening streams without end gets
    429 past MAX_STREAMS, and a closed stream frees its place (another seller is not
    affected)."""
    me = await logged_in(served, "Ada")
    other = await logged_in(served, "Bo")
    async with contextlib.AsyncExitStack() as open_streams, aclosing(me.client), \
            aclosing(other.client):
        held = []
        for _ in range(MAX_STREAMS):
            stream = await open_streams.enter_async_context(
                me.client.stream("GET", "/web/chat/events"))
            assert stream.status_code == 200
            held.append(stream)
        refused = await me.client.get("/web/chat/events")
        assert refused.status_code == 429 and refused.headers["Retry-After"]
        assert "windows" in refused.json()["error"]
        async with other.client.stream("GET", "/web/chat/events") as theirs:
            assert theirs.status_code == 200
        await held[0].aclose()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 15  # the server notices the closed stream at its next poll
        while True:
            async with me.client.stream("GET", "/web/chat/events") as again:
                if again.status_code == 200:
                    break
            assert loop.time() < deadline, "a closed stream kept its place"
            await asyncio.sleep(0.2)
