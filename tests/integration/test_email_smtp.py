"""Mail through the outbox to a real SMTP server (aiosmtpd on 127.0.0.1, port 0) with the
stdlib client: the verification mail carries a link that verifies the address on
/email/verify/<token>; a server that answers 4xx, or is not there, is retried by the dispatcher
and the mail arrives once; a recipient refused with 5xx is not retried."""

from __future__ import annotations

import asyncio
import contextlib
import re
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta
from email import message_from_bytes
from email.message import Message
from typing import Any

import pytest
from aiosmtpd.smtp import SMTP, Envelope, Session
from sqlalchemy import select
from starlette.applications import Starlette
from starlette.testclient import TestClient

from adapters.email.routes import EmailRoutes
from adapters.email.sender import EmailLinks, SmtpSender
from adapters.email.smtp_url import SmtpServer
from bot.case_rules.email_addresses import EmailVerified
from bot.cases import CaseService
from bot.clock import ManualClock
from bot.dispatcher import OutboxDispatcher
from bot.seller_emails import EMAIL
from storage.database import Database
from storage.models import OutboxRow
from storage.outbox_queue import SqlOutboxQueue
from storage.uow import SqlUnitOfWorkFactory
from tests.integration.case_rules_support import make_seller

PUBLIC = "https://support.example.com"


@dataclass
class Mailbox:
    """An aiosmtpd handler: keeps what it accepts; answers ``refuse`` codes first."""

    received: list[Message] = field(default_factory=list)
    refuse_data: list[str] = field(default_factory=list)
    refuse_rcpt: dict[str, str] = field(default_factory=dict)

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope,
                          address: str, rcpt_options: list[str]) -> str:
        if address in self.refuse_rcpt:
            return self.refuse_rcpt[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.refuse_data:
            return self.refuse_data.pop(0)
        content = envelope.original_content or b""
        self.received.append(message_from_bytes(content))
        return "250 Message accepted"


@contextlib.asynccontextmanager
async def smtp_server(mailbox: Mailbox) -> AsyncIterator[int]:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: SMTP(mailbox, hostname="mx.test"),
                                      "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        await server.wait_closed()


def free_port() -> int:
    """A port nothing listens on (connections are refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def build(sqlite_db: Database, port: int, clock: ManualClock) -> tuple[CaseService,
                                                                         SmtpSender,
                                                                         OutboxDispatcher]:
    uow_factory = SqlUnitOfWorkFactory(sqlite_db)
    service = CaseService(uow_factory, clock=clock)
    sender = SmtpSender(SmtpServer.parse(f"smtp://127.0.0.1:{port}"),
                        "Ceylexo Support <support@example.com>",
                        EmailLinks(PUBLIC, lambda seller, case: f"{PUBLIC}/portal/login/x{case}"),
                        timeout=5, message_id_domain="support.example.com")
    from bot.delivery_outcomes import DeliveryOutcomes
    from bot.relay import Relay

    dispatcher = OutboxDispatcher(SqlOutboxQueue(sqlite_db), [sender], clock,
                                  DeliveryOutcomes(uow_factory, Relay()), max_attempts=5)
    return service, sender, dispatcher


def mail_rows(db: Database) -> list[dict[str, Any]]:
    with db.sessions() as session:
        return [{"status": r.status, "attempts": r.attempts, "error": r.last_error}
                for r in session.scalars(select(OutboxRow).where(
                    OutboxRow.destination == EMAIL).order_by(OutboxRow.id))]


async def test_the_verification_mail_arrives_and_its_link_verifies(sqlite_db: Database) -> None:
    clock = ManualClock()
    mailbox = Mailbox()
    async with smtp_server(mailbox) as port:
        service, _sender, dispatcher = build(sqlite_db, port, clock)
        _, seller = make_seller(service, "m1")
        await asyncio.to_thread(service.request_email, seller.id, "ada@example.com")
        assert await dispatcher.run_once() == 1
    [mail] = mailbox.received
    assert mail["To"] == "ada@example.com"
    assert mail["From"] == "Ceylexo Support <support@example.com>"
    assert mail["Message-ID"].endswith("@support.example.com>")
    body = mail.get_payload(decode=True).decode()
    link = next(word for word in body.split() if word.startswith(f"{PUBLIC}/email/verify/"))
    token = link.rsplit("/", 1)[1]

    routes = EmailRoutes(service, "Ceylexo", 30, lambda _r: None, lambda _r, _t: False)
    app = Starlette(routes=routes.routes())
    with TestClient(app) as client:
        page = client.get(f"/email/verify/{token}")
        assert page.status_code == 200 and "ada@example.com" in page.text
        again = client.get(f"/email/verify/{token}")
        assert again.status_code == 404 and "does not work" in again.text
        assert client.get("/email/verify/" + "x" * 300).status_code == 404
    email = service.email_of(seller.id)
    assert email is not None and email.address == "ada@example.com"
    assert service.verify_email(token) != EmailVerified(seller.id, "ada@example.com")


async def test_a_refusing_or_absent_server_is_retried_and_the_mail_arrives_once(
        sqlite_db: Database) -> None:
    clock = ManualClock()
    mailbox = Mailbox(refuse_data=["451 4.3.0 Try again later"])
    # First nobody listens: refused connection, retried later.
    service, _sender, dispatcher = build(sqlite_db, free_port(), clock)
    _, seller = make_seller(service, "m2")
    await asyncio.to_thread(service.request_email, seller.id, "bo@example.com")
    await dispatcher.run_once()
    [row] = mail_rows(sqlite_db)
    assert row["status"] == "pending" and row["attempts"] == 1
    assert "Connection" in row["error"] or "refused" in row["error"].lower()
    async with smtp_server(mailbox) as port:
        _service, _sender2, dispatcher = build(sqlite_db, port, clock)
        clock.advance(minutes=5)
        await dispatcher.run_once()  # 451 on DATA: temporary
        [row] = mail_rows(sqlite_db)
        assert row["status"] == "pending" and row["attempts"] == 2 and "451" in row["error"]
        assert mailbox.received == []
        clock.advance(minutes=5)
        await dispatcher.run_once()
        clock.advance(minutes=5)
        await dispatcher.run_once()  # nothing left: no second copy
    assert [m["To"] for m in mailbox.received] == ["bo@example.com"]
    assert mail_rows(sqlite_db)[0]["status"] == "sent"


async def test_a_recipient_refused_for_good_is_not_retried(sqlite_db: Database) -> None:
    clock = ManualClock()
    mailbox = Mailbox(refuse_rcpt={"gone@example.com": "550 5.1.1 No such user"})
    async with smtp_server(mailbox) as port:
        service, _sender, dispatcher = build(sqlite_db, port, clock)
        _, seller = make_seller(service, "m3")
        await asyncio.to_thread(service.request_email, seller.id, "gone@example.com")
        await dispatcher.run_once()
    [row] = mail_rows(sqlite_db)
    assert row["status"] == "dead" and "550" in row["error"]
    assert mailbox.received == []


@pytest.mark.parametrize("url, expected", [
    ("smtp://mail.example.com", SmtpServer("mail.example.com", 25)),
    ("smtps://u%40x:p%3Aw@mail.example.com", SmtpServer("mail.example.com", 465, tls=True,
                                                       user="u@x", password="p:w")),
    ("smtp+starttls://mail.example.com:2525", SmtpServer("mail.example.com", 2525,
                                                         starttls=True)),
])
def test_smtp_urls(url: str, expected: SmtpServer) -> None:
    assert SmtpServer.parse(url) == expected
    assert "p:w" not in SmtpServer.parse(url).describe()


@pytest.mark.parametrize("url", ["http://x", "smtp://", "mail.example.com", "smtp://x:99999"])
def test_bad_smtp_urls_say_what_is_wrong(url: str) -> None:
    with pytest.raises(ValueError, match="FRONTDOOR_SMTP_URL"):
        SmtpServer.parse(url)


def test_links_are_made_when_sent() -> None:
    links = EmailLinks(PUBLIC + "/", lambda seller, case: f"L{seller}{case}")
    assert links.make({"kind": "verify", "token": "abc"}) == f"{PUBLIC}/email/verify/abc"
    assert links.make({"kind": "login", "seller_id": 3, "case_number": "CX-1"}) == "L3CX-1"
    assert EmailLinks(PUBLIC, None).make({"kind": "login", "seller_id": 3}) == PUBLIC


def test_the_scheduler_runs_the_email_sweep_only_with_mail_configured(
        sqlite_db: Database) -> None:
    from frontdoor.scheduling import build_scheduler
    from frontdoor.settings import Settings
    from frontdoor.wiring import build_services

    for url, expected in ((None, False), ("smtp://127.0.0.1:2525", True)):
        settings = Settings(_env_file=None, frontdoor_database_url=sqlite_db.url,  # type: ignore[call-arg]
                            frontdoor_smtp_url=url)
        scheduler = build_scheduler(build_services(settings, database=sqlite_db))
        assert (scheduler.get_job("sweep.email") is not None) is expected


def test_the_portal_form_sets_and_removes_the_address_with_csrf(sqlite_db: Database) -> None:
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    from adapters.web.session import PortalSessions, csrf_ok, current_seller

    clock = ManualClock()
    service = CaseService(SqlUnitOfWorkFactory(sqlite_db), clock=clock)
    _, seller = make_seller(service, "f1")
    sessions = PortalSessions("f" * 40, "http://testserver", timedelta(hours=1))

    async def login(request: Request) -> Response:
        response = Response("")
        sessions.start(response, seller.id)
        return response

    routes = EmailRoutes(service, "Ceylexo", 30, current_seller, csrf_ok)
    app = Starlette(routes=[*routes.routes(), Route("/test-login", login)])
    app.state.portal_sessions = sessions
    with TestClient(app) as client:
        assert client.get("/portal/email").status_code == 401
        client.get("/test-login")
        page = client.get("/portal/email")
        assert page.status_code == 200 and "No address yet" in page.text
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert token
        csrf = token.group(1)
        refused = client.post("/portal/email", data={"csrf_token": "forged", "address": "a@b.co"})
        assert refused.status_code == 403 and service.email_of(seller.id) is None
        bad = client.post("/portal/email", data={"csrf_token": csrf, "address": "nope"})
        assert bad.status_code == 400 and "is not an email address" in bad.text
        sent = client.post("/portal/email", data={"csrf_token": csrf, "address": "a@b.co"},
                           follow_redirects=False)
        assert sent.status_code == 303
        page = client.get(sent.headers["location"])
        assert "Confirmation link sent" in page.text and "a@b.co" in page.text
        removed = client.post("/portal/email", data={"csrf_token": csrf, "action": "remove"})
        assert removed.status_code == 200 and "no more email" in removed.text
    assert service.email_of(seller.id) is None


def test_serve_refuses_to_start_with_bad_email_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from frontdoor.cli import app

    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "1:x")
    monkeypatch.setenv("TELEGRAM_MODE", "polling")
    monkeypatch.setenv("FRONTDOOR_SMTP_URL", "http://mail.example.com")
    result = CliRunner().invoke(app, ["serve", "--no-migrate"])
    assert result.exit_code == 2 and "FRONTDOOR_SMTP_URL must start with" in result.output
    monkeypatch.setenv("FRONTDOOR_SMTP_URL", "smtp://mail.example.com")
    monkeypatch.delenv("FRONTDOOR_PUBLIC_URL", raising=False)
    result = CliRunner().invoke(app, ["serve", "--no-migrate"])
    assert result.exit_code == 2 and "FRONTDOOR_PUBLIC_URL" in result.output


class _RudeGoodbye(SMTP):
    """Accepts mail, then answers QUIT with an error and hangs up."""

    async def smtp_QUIT(self, arg: str) -> None:
        await self.push("421 4.3.2 Shutting down")
        assert self._handler_coroutine is not None and self.transport is not None
        self._handler_coroutine.cancel()
        self.transport.close()


async def test_a_mail_accepted_before_a_failed_quit_is_sent_once(sqlite_db: Database) -> None:
    clock = ManualClock()
    mailbox = Mailbox()
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: _RudeGoodbye(mailbox, hostname="mx.test"),
                                      "127.0.0.1", 0)
    try:
        service, _sender, dispatcher = build(sqlite_db, server.sockets[0].getsockname()[1],
                                             clock)
        _, seller = make_seller(service, "m4")
        await asyncio.to_thread(service.request_email, seller.id, "bo@example.com")
        await dispatcher.run_once()
        clock.advance(minutes=5)
        await dispatcher.run_once()  # nothing is due again: the mail was recorded as sent
    finally:
        server.close()
        await server.wait_closed()
    assert [m["To"] for m in mailbox.received] == ["bo@example.com"]
    [row] = mail_rows(sqlite_db)
    assert row["status"] == "sent"
