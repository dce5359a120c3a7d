"""Email end to end on the whole `frontdoor serve` app with the portal on and FRONTDOOR_SMTP_URL
pointing at a local aiosmtpd: a Telegram seller gives an address with /email, the mailed link
verifies it; an agent's Slack reply left unread gets a mail after
FRONTDOOR_EMAIL_UNREAD_MINUTES with a portal login link that works, once."""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta

from sqlalchemy import select

from storage.database import Database
from storage.models import CaseMessageRow, SellerEmailRow
from tests.integration.serve_relay_support import WAIT, TelegramSeller, serving
from tests.integration.test_email_smtp import Mailbox, smtp_server
from tests.integration.test_portal_browser import PUBLIC, SECRET


async def wait_for_mail(mailbox: Mailbox, count: int) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT
    while len(mailbox.received) < count:
        assert loop.time() < deadline, f"{len(mailbox.received)} mails, expected {count}"
        await asyncio.sleep(0.05)


def body(mail: object) -> str:
    payload = mail.get_payload(decode=True)  # type: ignore[attr-defined]
    return bytes(payload).decode()


async def test_verified_address_gets_a_mail_for_an_unread_reply_with_a_working_login_link(
        sqlite_db: Database) -> None:
    mailbox = Mailbox()
    async with smtp_server(mailbox) as port, serving(
            sqlite_db, frontdoor_portal=True, frontdoor_public_url=PUBLIC,
            frontdoor_session_secret=SECRET, frontdoor_smtp_url=f"smtp://127.0.0.1:{port}",
            frontdoor_email_unread_minutes=30) as served:
        seller = TelegramSeller(served)
        await seller.register()
        await seller.say("/email ada@example.com", expect="confirmation link")
        await wait_for_mail(mailbox, 1)
        link = re.search(rf"{re.escape(PUBLIC)}/email/verify/\S+", body(mailbox.received[0]))
        assert link, body(mailbox.received[0])
        verified = await served.http.get(link.group(0)[len(PUBLIC):])
        assert verified.status_code == 200 and "ada@example.com" in verified.text

        opened = await seller.open_case(
            "my order 123-1234567-1234567 never arrived, the parcel is lost")
        await served.agent_writes(opened.parent_ts, "We are tracing the parcel")
        await served.telegram.wait_for(
            "sendMessage", timeout=WAIT, where=lambda r: "tracing the parcel" in r.get("text", ""))
        from frontdoor.portal_channels import email_sweep

        sweep = email_sweep(served.services)
        assert sweep is not None
        assert await asyncio.to_thread(sweep.run) == 0  # just written
        # Half an hour passes (the reply is made older: the server runs on the real clock).
        with served.services.database.sessions() as session, session.begin():
            for reply in session.scalars(select(CaseMessageRow).where(
                    CaseMessageRow.author_kind == "agent")):
                reply.created_at -= timedelta(minutes=31)
            for email in session.scalars(select(SellerEmailRow)):
                email.verified_at = (email.verified_at or reply.created_at) - timedelta(hours=1)
        assert await asyncio.to_thread(sweep.run) == 1
        await wait_for_mail(mailbox, 2)
        mail = mailbox.received[1]
        assert mail["To"] == "ada@example.com" and opened.number in mail["Subject"]
        text = body(mail)
        assert "We are tracing the parcel" in text
        login = re.search(rf"{re.escape(PUBLIC)}/portal/login/\S+", text)
        assert login, text
        page = await served.http.get(login.group(0)[len(PUBLIC):])
        assert page.status_code == 200 and "Log in" in page.text and opened.number in page.text
        assert await asyncio.to_thread(sweep.run) == 0  # once
