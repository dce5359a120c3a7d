"""A cap on request bodies: anything bigger is answered 413 before a handler reads it all.

Platform requests are small (a Telegram update or a Slack event is a few kilobytes); a
client sending megabytes is not a platform, and reading it whole would only cost memory.
A declared ``Content-Length`` over the cap is refused without reading the body; a body
without one (chunked) is counted as it arrives and refused once it passes the cap.

The refusal is plain text. Under a prefix given an ``explain`` function (the portal's, whose
readers are sellers in their own language) its words come from that function, and a body up to
``DRAIN_BYTES`` is read to its end (and dropped) before the answer: a browser still uploading
when the server answers and closes shows a reset connection, not the refusal.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger(__name__)

#: Words for a refusal: (the request's Accept-Language header, the cap in bytes) -> text.
Explain = Callable[[str, int], str]

#: Up to this much of an over-cap body is read and dropped where people read the refusal.
DRAIN_BYTES = 64_000_000
#: ... and for at most this long.
DRAIN_SECONDS = 30.0

#: The default cap: far above any platform request, far below what would hurt.
DEFAULT_MAX_REQUEST_BYTES = 1_000_000


class _TooLarge(Exception):
    """The body being read has passed the cap."""


class BodySizeLimit:
    """ASGI middleware answering 413 to HTTP requests whose body is over ``max_bytes``."""

    def __init__(self, app: ASGIApp, max_bytes: int = DEFAULT_MAX_REQUEST_BYTES,
                 by_prefix: dict[str, int] | None = None,
                 explain_by_prefix: dict[str, Explain] | None = None) -> None:
        self.app = app
        self.max_bytes = max_bytes
        # Paths that take larger bodies (file uploads), longest prefix first.
        self.by_prefix = sorted((by_prefix or {}).items(), key=lambda kv: -len(kv[0]))
        self.explain_by_prefix = sorted((explain_by_prefix or {}).items(),
                                        key=lambda kv: -len(kv[0]))

    def _cap(self, path: str) -> int:
        return next((cap for prefix, cap in self.by_prefix if path.startswith(prefix)),
                    self.max_bytes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cap = self._cap(str(scope.get("path", "")))
        declared = _content_length(scope)
        if declared is not None and declared > cap:
            # A client that waits for "100 Continue" has sent nothing yet: nothing to drain.
            if (self._explain(scope) is not None and declared <= DRAIN_BYTES
                    and _header(scope, b"expect").lower() != "100-continue"):
                await _drain(receive, DRAIN_BYTES)
            await self._refuse(scope, send, declared, cap)
            return
        received = 0
        started = False
        body_ended = False

        async def counting_receive() -> Message:
            nonlocal received, body_ended
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                body_ended = not message.get("more_body", False)
                if received > cap:
                    raise _TooLarge
            return message

        async def watching_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, watching_send)
        except _TooLarge:
            if started:  # too late to answer 413: the handler answered without reading it all
                raise
            if self._explain(scope) is not None and not body_ended:
                await _drain(receive, DRAIN_BYTES - received)
            await self._refuse(scope, send, received, cap)

    def _explain(self, scope: Scope) -> Explain | None:
        path = str(scope.get("path", ""))
        return next((words for prefix, words in self.explain_by_prefix
                     if path.startswith(prefix)), None)

    async def _refuse(self, scope: Scope, send: Send, size: int, cap: int) -> None:
        log.warning("request to %s refused: body of %s bytes or more is over the %s-byte cap",
                    scope.get("path"), size, cap)
        explain = self._explain(scope)
        text = f"request body too large (at most {cap} bytes)"
        if explain is not None:
            text = explain(_header(scope, b"accept-language"), cap)
        body = f"{text}\n".encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                                (b"content-length", str(len(body)).encode()),
                                (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": body})


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _drain(receive: Receive, limit: int) -> None:
    """Read the rest of the body, up to ``limit`` bytes or ``DRAIN_SECONDS``, keeping none of
    it (a client sending slowly gets its answer when the time is up)."""

    async def rest() -> None:
        read = 0
        while read <= limit:
            message = await receive()
            if message["type"] != "http.request":
                return
            read += len(message.get("body", b""))
            if not message.get("more_body", False):
                return

    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(rest(), DRAIN_SECONDS)


def _header(scope: Scope, name: bytes) -> str:
    for key, value in scope.get("headers") or []:
        if key.lower() == name:
            return bytes(value).decode("latin-1")
    return ""
