"""The composition of the portal's two channels besides its pages: the web chat (with the
portal, FRONTDOOR_PORTAL) and email notifications (with FRONTDOOR_SMTP_URL): their outbox
senders, routes, and the scheduler's jobs (the email sweep, the web chat's retention)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from urllib.parse import urlsplit

from adapters.email.routes import SETTINGS_PATH, EmailRoutes
from adapters.email.sender import EmailLinks, LoginLink, SmtpSender
from adapters.email.smtp_url import SmtpServer
from adapters.web.chat_uploads import FILES_PATH, upload_cap
from adapters.web.chat_wiring import build_web_chat
from adapters.web.session import csrf_ok, current_seller
from bot.email_notices import EmailNotices
from bot.messages import SellerMessage
from bot.outbox import OutboxSender
from bot.portal_login import PortalLogin
from bot.web_chat import WebChatRetention
from frontdoor.server import ServerParts
from frontdoor.settings import Settings
from frontdoor.wiring import Services
from storage.email_notice_queries import SqlEmailNoticeStore
from storage.portal_queries import SqlPortalQueries
from storage.web_chat_store import SqlWebChatStore

log = logging.getLogger(__name__)


def add_web_chat(parts: ServerParts, services: Services,
                 handle: Callable[[SellerMessage], Awaitable[object]],
                 senders: list[OutboxSender]) -> None:
    """The portal's chat panel: its routes (files kept with the portal's, under the chat's
    size limit) and the ``web`` outbox sender."""
    s = services.settings
    max_file_bytes = s.frontdoor_max_attachment_mb * 1_000_000
    chat = build_web_chat(SqlWebChatStore(services.database), services.uow_factory, handle,
                          services.clock.now, max_text_chars=s.frontdoor_max_text_chars,
                          files=SqlPortalQueries(services.database),
                          max_file_bytes=max_file_bytes)
    parts.routes.extend(chat.routes)
    parts.body_limits[FILES_PATH] = upload_cap(max_file_bytes)
    senders.append(chat.sender)
    parts.on_start.append(chat.recovery.start)
    parts.on_stop.append(chat.recovery.stop)
    parts.extra["web_chat"] = chat


def email_from(settings: Settings) -> str:
    """FRONTDOOR_EMAIL_FROM, else noreply at the public address's host."""
    if settings.frontdoor_email_from:
        return settings.frontdoor_email_from
    host = urlsplit(settings.frontdoor_public_url or "").hostname or "localhost"
    return f"Seller support <noreply@{host}>"


def email_login_links(settings: Settings, services: Services) -> LoginLink | None:
    """Portal login links for mails (one use, FRONTDOOR_EMAIL_LINK_HOURS), when the portal is
    on."""
    secret = settings.frontdoor_session_secret
    if not (settings.frontdoor_portal and settings.frontdoor_public_url and secret):
        return None
    links = PortalLogin(settings.frontdoor_public_url, secret, None, services.clock,
                        lifetime=timedelta(hours=settings.frontdoor_email_link_hours))
    return links.issue_link


def check_email_settings(settings: Settings) -> None:
    """With FRONTDOOR_SMTP_URL set: the URL must be one, and FRONTDOOR_PUBLIC_URL set (the
    confirmation links need it); ValueError saying what is wrong."""
    if not settings.frontdoor_smtp_url:
        return
    SmtpServer.parse(settings.frontdoor_smtp_url)
    if not settings.frontdoor_public_url:
        raise ValueError("FRONTDOOR_SMTP_URL is set but FRONTDOOR_PUBLIC_URL is not: the "
                         "confirmation links mailed to sellers need the address they open")


def add_email(parts: ServerParts, services: Services, senders: list[OutboxSender]) -> None:
    """The SMTP sender of destination ``email``, the verification page and the portal's
    address form (FRONTDOOR_SMTP_URL set). A bad URL stops the start with what is wrong."""
    s = services.settings
    if not s.frontdoor_smtp_url:
        return
    server = SmtpServer.parse(s.frontdoor_smtp_url)
    links = EmailLinks(s.frontdoor_public_url, email_login_links(s, services))
    domain = urlsplit(s.frontdoor_public_url or "").hostname or "frontdoor.invalid"
    senders.append(SmtpSender(server, email_from(s), links, message_id_domain=domain))
    routes = EmailRoutes(services.cases, s.frontdoor_brand, s.frontdoor_email_unread_minutes,
                         current_seller, csrf_ok,
                         SqlPortalQueries(services.database).language_and_zone)
    parts.routes.extend(routes.routes())
    parts.state["email_settings_url"] = SETTINGS_PATH  # the portal's navigation links it
    log.info("email notifications through %s", server.describe())


def email_sweep(services: Services) -> EmailNotices | None:
    """The scheduler's email sweep, when mail is configured."""
    s = services.settings
    if not s.frontdoor_smtp_url:
        return None
    return EmailNotices(services.uow_factory, SqlEmailNoticeStore(), services.clock,
                        timedelta(minutes=s.frontdoor_email_unread_minutes),
                        s.frontdoor_evaluation_days)


def web_chat_retention(services: Services) -> WebChatRetention | None:
    """The scheduler's pruning of old web chat lines (FRONTDOOR_WEB_CHAT_RETENTION_DAYS; 0:
    kept for ever). It runs whether or not the portal is on now: lines of an earlier run age
    out all the same."""
    days = services.settings.frontdoor_web_chat_retention_days
    if days <= 0:
        return None
    return WebChatRetention(SqlWebChatStore(services.database), timedelta(days=days))


def prune_web_chat(retention: WebChatRetention, services: Services) -> int:
    """One run of the retention job (in a worker thread); logged when it deleted lines."""
    deleted = retention.run(services.clock.now())
    if deleted:
        log.info("web chat retention: deleted %d lines older than %s", deleted, retention.keep)
    return deleted
