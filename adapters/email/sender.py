"""The outbox sender of destination ``email``: one mail per item, over SMTP (stdlib smtplib, in
a worker thread), to FRONTDOOR_SMTP_URL.

The link of each mail is made when it is sent (``LINK_SLOT`` in its text): a verification
link from FRONTDOOR_PUBLIC_URL, or a fresh portal login link to the case. A server that
refuses the connection, is unreachable, or answers 4xx is tried again by the dispatcher (with
backoff, up to FRONTDOOR_OUTBOX_MAX_ATTEMPTS); a recipient or message refused with 5xx is not.
Each mail's Message-ID names its outbox item, so a mail sent again after a crash between the
hand-over and its record is recognisable as the same mail.
"""

from __future__ import annotations

import asyncio
import logging
import smtplib
import ssl
from collections.abc import Callable
from email.message import EmailMessage
from email.utils import formatdate
from typing import Any

from adapters.email.smtp_url import SmtpServer
from bot.outbox import DeliveryResult, OutboundItem
from bot.seller_emails import EMAIL, LINK_SLOT, VERIFY_PATH

log = logging.getLogger(__name__)

#: A portal login link to a case: (seller id, case number) -> URL.
LoginLink = Callable[[int, str | None], str]


class EmailLinks:
    """The URLs mails carry."""

    def __init__(self, public_url: str | None, login_link: LoginLink | None) -> None:
        self.public_url = (public_url or "").rstrip("/")
        self.login_link = login_link

    def make(self, link: dict[str, Any] | None) -> str:
        if not link:
            return self.public_url
        if link.get("kind") == "verify":
            return f"{self.public_url}{VERIFY_PATH}{link.get('token', '')}"
        if link.get("kind") == "login" and self.login_link is not None:
            return self.login_link(int(link["seller_id"]), link.get("case_number"))
        return self.public_url


class SmtpSender:
    destination = EMAIL

    def __init__(self, server: SmtpServer, from_address: str, links: EmailLinks,
                 timeout: float = 20.0, message_id_domain: str = "frontdoor.invalid",
                 tls_context: ssl.SSLContext | None = None) -> None:
        self.server = server
        self.from_address = from_address
        self.links = links
        self.timeout = timeout
        self.message_id_domain = message_id_domain
        self.tls_context = tls_context or ssl.create_default_context()
        self.sent = 0

    def compose(self, item: OutboundItem) -> EmailMessage:
        payload = item.payload
        message = EmailMessage()
        message["From"] = self.from_address
        message["To"] = str(payload["to"])
        message["Subject"] = str(payload.get("subject", ""))
        message["Date"] = formatdate(localtime=False, usegmt=True)
        message["Message-ID"] = f"<outbox-{item.id}@{self.message_id_domain}>"
        message["Auto-Submitted"] = "auto-generated"  # no auto-replies, please
        text = str(payload.get("text", ""))
        if LINK_SLOT in text:
            text = text.replace(LINK_SLOT, self.links.make(payload.get("link")))
        message.set_content(text)
        return message

    async def deliver(self, item: OutboundItem) -> DeliveryResult:
        if not item.payload.get("to"):
            return DeliveryResult(ok=False, permanent=True, error="mail without a recipient")
        try:
            message = self.compose(item)
        except Exception as exc:  # a link that cannot be made (the portal is misconfigured)
            log.warning("could not compose mail of outbox item %s: %s", item.id, exc)
            return DeliveryResult(ok=False, error=f"{type(exc).__name__}: {exc}")
        try:
            await asyncio.to_thread(self._send, message)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            permanent = bool(codes) and all(code >= 500 for code in codes)
            return self._failed(item, f"recipient refused: {exc.recipients}", permanent)
        except smtplib.SMTPAuthenticationError as exc:
            return self._failed(item, f"login refused ({exc.smtp_code})", False)
        except smtplib.SMTPResponseException as exc:
            return self._failed(item, f"{exc.smtp_code} {exc.smtp_error!r}",
                                exc.smtp_code >= 500)
        except (smtplib.SMTPException, OSError) as exc:  # refused, unreachable, cut off
            return self._failed(item, f"{type(exc).__name__}: {exc}", False)
        self.sent += 1
        return DeliveryResult(ok=True, platform_message_id=str(message["Message-ID"]),
                              platform_chat_id=str(item.payload["to"]))

    def _failed(self, item: OutboundItem, error: str, permanent: bool) -> DeliveryResult:
        log.warning("mail of outbox item %s to %s not sent%s: %s", item.id,
                    self.server.describe(), " (permanent)" if permanent else "", error)
        return DeliveryResult(ok=False, permanent=permanent, error=error)

    def _send(self, message: EmailMessage) -> None:
        server = self.server
        client: smtplib.SMTP
        if server.tls:
            client = smtplib.SMTP_SSL(server.host, server.port, timeout=self.timeout,
                                      context=self.tls_context)
        else:
            client = smtplib.SMTP(server.host, server.port, timeout=self.timeout)
        try:
            if server.starttls:
                client.starttls(context=self.tls_context)
            if server.user:
                client.login(server.user, server.password or "")
            client.send_message(message)
        except BaseException:
            client.close()
            raise
        # Accepted (250 after DATA): the mail is sent, whatever happens to the goodbye. A QUIT
        # answered with an error or cut off must not make the dispatcher send it again.
        try:
            client.quit()
        except (smtplib.SMTPException, OSError) as exc:
            log.info("mail accepted by %s; its QUIT failed (%s: %s), the connection is closed",
                     server.describe(), type(exc).__name__, exc)
            client.close()
