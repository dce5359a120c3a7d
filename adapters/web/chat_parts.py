"""What the web chat's request handlers share: the parts the composition root fills in, the
logged refusal every handler answers bad input with, and handing a seller's message to the
engine (adapters/web/chat_routes.py for text and buttons, chat_uploads.py for files)."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from adapters.web.chat_sender import ChatHub
from adapters.web.rendering import browser_speaker
from adapters.web.uploads import FileStore
from bot import i18n
from bot.domain import Identity
from bot.inbound_claims import EventInProgress
from bot.messages import Attachment, SellerMessage
from bot.texts import t
from bot.web_chat import WEB, WebChatStore, web_address

log = logging.getLogger("adapters.web.chat_routes")

#: A client message id: the panel makes one per message and sends it again on a retry.
CLIENT_ID = re.compile(r"^[A-Za-z0-9_-]{8,80}$")
#: The largest line id a client may name: the databases' ids are signed 64-bit integers, and
#: a bigger number would fail the query instead of finding nothing.
MAX_LINE_ID = 2**63 - 1


def is_line_id(value: object) -> bool:
    """A line id as the database has them (not a bool, not negative, not over 64 bits)."""
    return (isinstance(value, int) and not isinstance(value, bool)
            and 0 <= value <= MAX_LINE_ID)


@dataclass
class WebChatParts:
    """What the web chat's routes need; the composition root fills it."""

    store: WebChatStore
    hub: ChatHub
    #: The engine (``Engine.handle``).
    handle: Callable[[SellerMessage], Awaitable[object]]
    #: The seller's web identity, created and linked on first use (None: no such seller).
    ensure_identity: Callable[[int], Identity | None]
    #: The portal session's seller, or None.
    seller_of: Callable[[Request], int | None]
    #: Whether the request carries the session's CSRF token (the value given).
    csrf_ok: Callable[[Request, str | None], bool]
    now: Callable[[], datetime]
    max_text_chars: int = 4000
    poll_seconds: float = 2.0
    keepalive_seconds: float = 15.0
    stream_seconds: float = 20.0
    history_lines: int = 50
    #: Where files sent from the panel are kept (the portal's files, fetched from there into
    #: the case's Slack thread); None: the panel takes no files.
    files: FileStore | None = None
    #: The chat's limit per file (FRONTDOOR_MAX_ATTACHMENT_MB).
    max_file_bytes: int = 20_000_000


def refuse(status: int, error: str, why: str, request: Request) -> Response:
    """A clear JSON answer for the panel, and a log line saying why."""
    log.info("web chat %s %s refused (%d): %s", request.method, request.url.path, status, why)
    return JSONResponse({"error": error}, status_code=status)


def refuse_in_words(status: int, key: str, why: str, request: Request,
                    **values: object) -> Response:
    """``refuse`` with the panel's words for it (the catalogue's ``key``), in the language
    the panel asks in: it sends the page's language as Accept-Language, which is the seller's
    stored one (a script calling without it gets English)."""
    with i18n.speaking(browser_speaker(request)):
        return refuse(status, t(key, **values), why, request)


async def read_json(request: Request, error: str) -> Any:
    """The request's JSON body, or the refusal: 415 unless it is declared JSON (what the
    panel sends), 400 if it is not JSON in UTF-8 or nested too deep to read."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/json":
        return refuse(415, "Send the message as JSON (application/json).",
                      f"content type {content_type[:60]!r}", request)
    try:
        return json.loads(await request.body())
    except (ValueError, UnicodeDecodeError):
        return refuse(400, error, "not JSON", request)
    except RecursionError:
        return refuse(400, error, "JSON nested too deep", request)


def posting_seller(parts: WebChatParts, request: Request) -> int | Response:
    """The seller of a post from the panel, or the refusal: no session (401) or no valid
    CSRF token in ``X-CSRF-Token`` (403)."""
    seller_id = parts.seller_of(request)
    if seller_id is None:
        return refuse_in_words(401, "portal.chat_log_in_again", "no session", request)
    if not parts.csrf_ok(request, request.headers.get("x-csrf-token")):
        return refuse_in_words(403, "portal.chat_out_of_date", "bad CSRF token", request)
    return seller_id


async def hand_to_engine(parts: WebChatParts, msg: SellerMessage, client_id: str,
                         seller_id: int, request: Request) -> Response:
    """Process the message (once per client id: its event id); 202, or an answer that tells
    the panel to send the same id again."""
    try:
        await parts.handle(msg)
    except EventInProgress:
        with i18n.speaking(browser_speaker(request)):
            return JSONResponse({"error": t("portal.chat_still_working"), "retry": True},
                                status_code=409)
    except Exception:
        return retry_later(client_id, seller_id, request)
    return JSONResponse({"ok": True, "id": client_id}, status_code=202)


def retry_later(client_id: str, seller_id: int, request: Request) -> Response:
    """The message could not be stored or processed (a database outage, a failed turn): 503
    with ``retry``, so the panel sends it again with the same id (processed once). Called in
    an ``except`` block: the log line carries the error."""
    log.exception("web chat message %s of seller %s failed; the panel sends it again",
                  client_id, seller_id)
    with i18n.speaking(browser_speaker(request)):
        return JSONResponse({"error": t("portal.chat_retrying"), "retry": True},
                            status_code=503)


def message_of_line(seller_id: int, client_id: str, payload: dict[str, Any],
                    display_name: str | None) -> SellerMessage:
    """The engine message a stored seller line stands for (its text, button or files): a
    retried post and the recovery of a message never processed hand it over again."""
    base = message_base(seller_id, client_id, display_name)
    text = str(payload.get("text") or "")
    if payload.get("attachments"):
        return SellerMessage(text=text, attachments=tuple(
            Attachment.from_dict(record) for record in payload["attachments"]), **base)
    if isinstance(payload.get("button"), str):
        return SellerMessage(text=text, button=payload["button"], **base)
    if text.startswith("/") and len(text) > 1:
        command, _, args = text[1:].partition(" ")
        return SellerMessage(text=text, command=command.lower(), command_args=args.strip(),
                             **base)
    return SellerMessage(text=text, **base)


def message_base(seller_id: int, client_id: str, display_name: str | None) -> dict[str, Any]:
    """The fields every engine message of this chat carries: its event id is the client's
    message id, so a message posted again is processed once."""
    address = web_address(seller_id)
    return {"channel": WEB, "user_id": address, "chat_id": address,
            "display_name": display_name, "event_id": f"web-{client_id}",
            "platform_message_id": client_id}
