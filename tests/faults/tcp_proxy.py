"""A loopback TCP proxy that can be cut: how the fault tests take PostgreSQL, Rasa or a
platform "away" without touching the real server behind it.

The proxy listens on 127.0.0.1 (a port of its own) and forwards every connection to its
target. It runs its own event loop in a daemon thread, so a test that blocks its own loop (a
synchronous database read, say) never stalls the traffic going through.

``cut(seconds)`` is an outage as the client sees a crashed or restarted server: every open
connection is reset and new ones are refused (the listening socket is closed) until the
time is up. ``cut(seconds, gentle=True)`` is a server that stops accepting connections but
finishes the exchange under way on each open one: idle connections are closed at once, a
connection waiting for its answer is closed right after the answer has gone through (so no
request is lost with its answer on the wire, which no client could tell from a failure).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any, TypeVar

T = TypeVar("T")

_CHUNK = 65536
# After the last bytes of an answer, a connection this quiet is taken as between exchanges.
_ANSWER_QUIET_SECONDS = 0.1


@dataclass(eq=False)  # hashed by identity: kept in a set
class _Link:
    """One proxied connection: the client's side, the target's side, and where the exchange
    stands (the client sent bytes the target has not answered yet)."""

    client: asyncio.StreamWriter
    target: asyncio.StreamWriter
    awaiting_answer: bool = False
    last_answer_at: float = 0.0
    closing: bool = False
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    def abort(self) -> None:
        for writer in (self.client, self.target):
            writer.transport.abort()


class TcpProxy:
    """Forwards 127.0.0.1:``port`` to ``target_host:target_port``; ``cut`` makes it fail."""

    def __init__(self, target_host: str, target_port: int, name: str = "proxy") -> None:
        self.target = (target_host, target_port)
        self.name = name
        self.port = 0
        self.cuts: list[tuple[float, float]] = []  # (monotonic start, seconds) of each cut
        self.connections_made = 0
        self.connections_cut = 0  # open connections a cut reset or closed
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name=name, daemon=True)
        self._server: asyncio.AbstractServer | None = None
        self._links: set[_Link] = set()
        self._restore: asyncio.TimerHandle | None = None

    # Lifecycle ---------------------------------------------------------------------------
    def start(self) -> TcpProxy:
        self._thread.start()
        self.port = self._call(self._listen(0))
        return self

    def stop(self) -> None:
        if not self._thread.is_alive():
            return
        with contextlib.suppress(Exception):
            self._call(self._shutdown())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    def __enter__(self) -> TcpProxy:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    # Faults --------------------------------------------------------------------------------
    def cut(self, seconds: float, gentle: bool = False) -> None:
        """Refuse connections for ``seconds`` (from now); reset open ones (``gentle``: close
        each once its exchange is over). Returns at once; the proxy comes back by itself."""
        self.cuts.append((time.monotonic(), seconds))
        self._call(self._cut(seconds, gentle))

    def is_cut(self) -> bool:
        return self._server is None

    @property
    def open_connections(self) -> int:
        return len(self._links)

    # Inside the proxy's loop ----------------------------------------------------------------
    def _call(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(10)

    async def _listen(self, port: int) -> int:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", port))
        self._server = await asyncio.start_server(self._accept, sock=sock, backlog=256)
        return int(sock.getsockname()[1])

    async def _cut(self, seconds: float, gentle: bool) -> None:
        if self._server is not None:
            self._server.close()  # new connections are refused from now on
            self._server = None
        for link in list(self._links):
            self.connections_cut += 1
            if not gentle or not link.awaiting_answer:
                link.abort()
            else:
                link.closing = True  # closed by the answer's pump once the answer is through
        if self._restore is not None:
            self._restore.cancel()
        self._restore = self._loop.call_later(
            seconds, lambda: asyncio.ensure_future(self._reopen()))

    async def _reopen(self) -> None:
        self._restore = None
        if self._server is None:
            await self._listen(self.port)

    async def _shutdown(self) -> None:
        if self._restore is not None:
            self._restore.cancel()
        if self._server is not None:
            self._server.close()
            self._server = None
        for link in list(self._links):
            link.abort()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self._server is None:  # accepted just before a cut
            writer.transport.abort()
            return
        try:
            target_reader, target_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.transport.abort()
            return
        self.connections_made += 1
        link = _Link(writer, target_writer)
        self._links.add(link)
        link.tasks = [asyncio.ensure_future(self._pump(reader, link, upstream=True)),
                      asyncio.ensure_future(self._pump(target_reader, link, upstream=False))]
        try:
            await asyncio.gather(*link.tasks, return_exceptions=True)
        finally:
            self._links.discard(link)
            if link.closing:
                # The answer is through: a FIN, not a reset that could drop it unread.
                link.target.transport.abort()
                link.client.close()
            else:
                link.abort()

    async def _pump(self, reader: asyncio.StreamReader, link: _Link, upstream: bool) -> None:
        writer = link.target if upstream else link.client
        try:
            while True:
                try:
                    data = await asyncio.wait_for(reader.read(_CHUNK), _ANSWER_QUIET_SECONDS) \
                        if link.closing and not upstream else await reader.read(_CHUNK)
                except TimeoutError:
                    if link.closing and not link.awaiting_answer:
                        break  # the answer went through and nothing more came: close now
                    continue
                if not data:
                    break
                if upstream:
                    link.awaiting_answer = True
                else:
                    link.awaiting_answer = False
                    link.last_answer_at = time.monotonic()
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            for task in link.tasks:
                if task is not asyncio.current_task():
                    task.cancel()
