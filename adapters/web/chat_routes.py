"""The web chat's HTTP side: the panel posts what the seller types or presses, and reads the
chat live as server-sent events.

- ``POST /web/chat/messages`` (JSON ``{"id", "text"}`` or ``{"id", "button": {"payload",
  "label"}}``, header ``X-CSRF-Token``): the line is stored once per client message id and
  handed to the engine as a ``SellerMessage`` whose event id is that client id, so a retried
  post is processed once. The answers come back through the outbox, not in the response.
- ``POST /web/chat/files`` (multipart: ``id``, ``file`` parts, ``text`` caption): images and
  files, under the chat's limits, reach the case like a Telegram file (chat_uploads.py).
- ``GET /web/chat/events``: the chat's lines after ``Last-Event-ID`` (the browser sends it when
  it reconnects) or, on a first connection, the latest ones; then each new line as it is
  stored. Lines of this process's deliveries wake the stream at once; the others are found by
  polling, so any process may serve the stream. A stream ends after ``stream_seconds`` and the
  browser reconnects where it left off (this also bounds a server's shutdown). A seller has
  at most ``MAX_STREAMS`` streams open on a process (a tab each): each one polls the
  database, so more are refused with 429 and the browser tries again a little later.
- ``POST /web/chat/seen`` (JSON ``{"lines": [ids]}``, header ``X-CSRF-Token``): the panel was
  open on these lines, so the agent replies among them are read, like a chat's. A closed
  panel or a hidden tab sees nothing: its replies stay unread (and may be emailed).

The posts take JSON only (415 otherwise); bad input gets a JSON ``error``, a 4xx and a log
line (chat_parts.refuse).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import Counter
from collections.abc import AsyncIterator, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from adapters.web.chat_parts import (
    CLIENT_ID,
    WebChatParts,
    hand_to_engine,
    is_line_id,
    message_of_line,
    posting_seller,
    read_json,
    refuse,
    refuse_in_words,
    retry_later,
)
from adapters.web.chat_uploads import FILES_PATH, ChatUploads
from bot.dialogue.cleaning import clean_text, storable
from bot.domain import Identity
from bot.messages import SellerMessage
from bot.web_chat import WebChatLine, web_address

log = logging.getLogger(__name__)

_MAX_PAYLOAD_CHARS = 200
MESSAGES_PATH = "/web/chat/messages"
EVENTS_PATH = "/web/chat/events"
SEEN_PATH = "/web/chat/seen"
_MAX_SEEN = 200
#: Event streams one seller may hold open on this process (a tab each; more are refused).
MAX_STREAMS = 10


def to_seller_message(seller_id: int, client_id: str, body: dict[str, Any],
                      display_name: str | None) -> tuple[SellerMessage, str] | str:
    """The engine message of a posted body and the line to show for it, or why it is
    refused. Text starting with ``/`` is a command, as typed in any chat."""
    button = body.get("button")
    if button is not None:
        if not isinstance(button, dict):
            return "button must be an object with payload and label"
        payload, label = button.get("payload"), button.get("label", "")
        if not isinstance(payload, str) or not payload or len(payload) > _MAX_PAYLOAD_CHARS:
            return "button.payload must be a short string"
        if not isinstance(label, str) or len(label) > _MAX_PAYLOAD_CHARS:
            return "button.label must be a short string"
        # Kept as sent but storable: no NUL or lone surrogate reaches a database.
        payload, label = storable(payload), storable(label)
        if not payload:
            return "button.payload must be a short string"
        return message_of_line(seller_id, client_id, {"text": label, "button": payload},
                               display_name), label
    text = body.get("text")
    # The line shown and stored is the text the engine reads: without control characters.
    text = clean_text(text) if isinstance(text, str) else ""
    if not text:
        return "text must be a non-empty string"
    # Text starting with "/" is a command (message_of_line reads it).
    return message_of_line(seller_id, client_id, {"text": text}, display_name), text


class WebChatRoutes:
    def __init__(self, parts: WebChatParts) -> None:
        self.parts = parts
        self._linked: set[int] = set()
        self._streams: Counter[int] = Counter()

    def routes(self) -> list[Route]:
        uploads = ChatUploads(self.parts, self._identity)
        return [Route(MESSAGES_PATH, self.post_message, methods=["POST"]),
                Route(FILES_PATH, uploads.post_files, methods=["POST"]),
                Route(EVENTS_PATH, self.events, methods=["GET"]),
                Route(SEEN_PATH, self.seen, methods=["POST"])]

    async def _identity(self, seller_id: int) -> Identity | None:
        identity = await asyncio.to_thread(self.parts.ensure_identity, seller_id)
        if identity is not None:
            self._linked.add(seller_id)
        return identity

    async def post_message(self, request: Request) -> Response:
        p = self.parts
        seller_id = posting_seller(p, request)
        if isinstance(seller_id, Response):
            return seller_id
        body = await read_json(request, "The message could not be read.")
        if isinstance(body, Response):
            return body
        if not isinstance(body, dict):
            return refuse_in_words(400, "portal.chat_unreadable", "not an object", request)
        client_id = body.get("id")
        if not isinstance(client_id, str) or not CLIENT_ID.match(client_id):
            return refuse_in_words(400, "portal.chat_unreadable", "bad client id", request)
        text = body.get("text")
        if isinstance(text, str) and len(text) > p.max_text_chars:
            return refuse_in_words(413, "portal.chat_too_long", f"text of {len(text)} characters",
                                   request, limit=p.max_text_chars)
        try:
            identity = await self._identity(seller_id)
            if identity is None:
                return refuse_in_words(401, "portal.chat_log_in_again", "unknown seller",
                                       request)
            made = to_seller_message(seller_id, client_id, body, identity.display_name)
            if isinstance(made, str):
                return refuse_in_words(400, "portal.chat_unreadable", made, request)
            msg, shown = made
            address = web_address(seller_id)
            line: dict[str, Any] = {"kind": "message", "text": shown, "client_id": client_id}
            if msg.button:
                line["button"] = msg.button  # what the recovery hands the engine again
            await asyncio.to_thread(p.store.add_seller_line, address, client_id, line,
                                    p.now())
        except Exception:
            return retry_later(client_id, seller_id, request)
        p.hub.publish(address)
        return await hand_to_engine(p, msg, client_id, seller_id, request)

    async def seen(self, request: Request) -> Response:
        p = self.parts
        seller_id = posting_seller(p, request)
        if isinstance(seller_id, Response):
            return seller_id
        body = await read_json(request, "Could not be read.")
        if isinstance(body, Response):
            return body
        lines = body.get("lines") if isinstance(body, dict) else None
        if (not isinstance(lines, list) or len(lines) > _MAX_SEEN
                or not all(is_line_id(x) for x in lines)):
            return refuse(400, "Could not be read.", "lines must be a list of ids", request)
        address = web_address(seller_id)
        replies = await asyncio.to_thread(p.store.replies_on_lines, address, lines)
        read = await asyncio.to_thread(p.store.mark_replies_read, replies, p.now()) \
            if replies else 0
        return JSONResponse({"read": read})

    async def events(self, request: Request) -> Response:
        p = self.parts
        seller_id = p.seller_of(request)
        if seller_id is None:
            return refuse(401, "Please log in to the portal again.", "no session", request)
        raw = request.headers.get("last-event-id") or request.query_params.get("after")
        after: int | None = None
        if raw is not None:
            raw = raw.strip()
            # ASCII digits only ("²".isdigit() is true too), and an id the database can hold.
            if not (len(raw) <= 19 and raw.isascii() and raw.isdigit()
                    and is_line_id(int(raw))):
                return refuse(400, "Bad Last-Event-ID.", f"Last-Event-ID {raw[:40]!r}",
                               request)
            after = int(raw)
        if self._streams[seller_id] >= MAX_STREAMS:
            answer = refuse_in_words(429, "portal.chat_too_many_windows",
                            f"{MAX_STREAMS} streams open already", request)
            answer.headers["Retry-After"] = "10"
            return answer
        self._streams[seller_id] += 1

        def release() -> None:
            self._streams[seller_id] -= 1
            if self._streams[seller_id] <= 0:
                del self._streams[seller_id]

        return _CountedStream(
            self._stream(request, web_address(seller_id), after), release,
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})

    async def _stream(self, request: Request, address: str,
                      after: int | None) -> AsyncIterator[str]:
        p = self.parts
        loop = asyncio.get_running_loop()
        woken = p.hub.subscribe(address)
        started = loop.time()
        last_sent = started
        try:
            yield "retry: 1000\n\n"
            if after is None:
                lines = await asyncio.to_thread(p.store.last_lines, address, p.history_lines)
            else:
                lines = await asyncio.to_thread(p.store.lines_after, address, after, 200)
            last = after or 0
            while True:
                if lines:
                    for line in lines:
                        yield _event(line)
                    last = lines[-1].id
                    last_sent = loop.time()
                if loop.time() - started >= p.stream_seconds or await request.is_disconnected():
                    return
                woken.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(woken.wait(), p.poll_seconds)
                if loop.time() - last_sent >= p.keepalive_seconds:
                    yield ": keepalive\n\n"
                    last_sent = loop.time()
                lines = await asyncio.to_thread(p.store.lines_after, address, last, 200)
        finally:
            p.hub.unsubscribe(address, woken)


class _CountedStream(StreamingResponse):
    """A stream that calls ``release`` once it is over, however it ended (finished, the
    browser gone, the server stopping)."""

    def __init__(self, content: AsyncIterator[str], release: Callable[[], None],
                 **kwargs: Any) -> None:
        super().__init__(content, **kwargs)
        self._release = release

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self._release()


def _event(line: WebChatLine) -> str:
    data = json.dumps(line.as_dict(), ensure_ascii=False)
    return f"id: {line.id}\nevent: line\ndata: {data}\n\n"
