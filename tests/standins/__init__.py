"""Local stand-ins for the platforms' HTTP APIs, so the real SDKs can be tested offline.

Each stand-in is an aiohttp server on 127.0.0.1 (port chosen by the OS) that records every
request in order, answers with minimal but realistic results, and can be told to fail the next
calls of a method (429, 5xx, platform errors). Use it in the test's own event loop::

    async with TelegramStandIn() as telegram:
        bot = telegram.Bot("123:TEST")  # or telegram.Bot(..., base_url=telegram.base_url)
        ...
        request = await telegram.wait_for("sendMessage")

or, when the code under test blocks the event loop or runs in another thread (benchmarks), in
a thread of its own: ``with TelegramStandIn().running_in_thread() as telegram: ...``. The
recording and the waiting helpers work across threads and event loops.

The platform-specific stand-ins live in :mod:`tests.standins.telegram_api` and
:mod:`tests.standins.slack_api`; this module holds what they share.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from types import TracebackType
from typing import Any, Self

from aiohttp import web

# Predicate over a recorded request, for the waiting helpers.
RequestFilter = Callable[["RecordedRequest"], bool]


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the stand-in received it, and what it answered.

    ``params`` is the parsed body (JSON or form) merged over the query string; form fields that
    carry JSON (Telegram's ``reply_markup``, Slack's ``blocks``...) are decoded.
    """

    index: int
    method: str
    params: dict[str, Any]
    headers: dict[str, str]
    http_method: str
    path: str
    status: int
    response: Any
    received_at: float

    def __getitem__(self, key: str) -> Any:
        return self.params[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self.params.get(key, default)


@dataclass(frozen=True)
class Fault:
    """A canned failure answer: HTTP status, body (JSON-encoded unless ``str``), headers."""

    status: int
    body: Any
    headers: Mapping[str, str] = field(default_factory=dict)
    content_type: str = "application/json"

    def to_response(self) -> web.Response:
        text = self.body if isinstance(self.body, str) else json.dumps(self.body)
        return web.Response(status=self.status, text=text, headers=dict(self.headers),
                            content_type=self.content_type)


@dataclass
class _Waiter:
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[RecordedRequest]
    accepts: RequestFilter
    remaining: int


class RequestLog:
    """Thread-safe, ordered record of requests with awaitable "wait until seen" helpers."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests: list[RecordedRequest] = []
        self._waiters: list[_Waiter] = []

    def __len__(self) -> int:
        with self._lock:
            return len(self._requests)

    def next_index(self) -> int:
        with self._lock:
            return len(self._requests)

    def add(self, request: RecordedRequest) -> None:
        resolved: list[_Waiter] = []
        with self._lock:  # one lock for both, so a waiter never counts a request twice
            request = replace(request, index=len(self._requests))
            self._requests.append(request)
            for waiter in list(self._waiters):
                if waiter.accepts(request):
                    waiter.remaining -= 1
                    if waiter.remaining == 0:
                        self._waiters.remove(waiter)
                        resolved.append(waiter)
        for waiter in resolved:
            # The waiter may sit in another thread's event loop.
            waiter.loop.call_soon_threadsafe(_resolve, waiter.future, request)

    def all(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    def clear(self) -> None:
        with self._lock:
            self._requests.clear()

    async def wait_for(self, accepts: RequestFilter, count: int, timeout: float,
                       since: int, description: str) -> RecordedRequest:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[RecordedRequest] = loop.create_future()
        with self._lock:
            seen = [r for r in self._requests[since:] if accepts(r)]
            if len(seen) >= count:
                return seen[count - 1]
            waiter = _Waiter(loop, future, accepts, count - len(seen))
            self._waiters.append(waiter)
        try:
            return await asyncio.wait_for(future, timeout)
        except TimeoutError:
            with self._lock:
                recorded = [r.method for r in self._requests]
            raise AssertionError(
                f"no {description} within {timeout}s; requests so far: {recorded}"
            ) from None
        finally:
            with self._lock, contextlib.suppress(ValueError):
                self._waiters.remove(waiter)


def _resolve(future: asyncio.Future[RecordedRequest], request: RecordedRequest) -> None:
    if not future.done():
        future.set_result(request)


# What a platform handler returns: HTTP status and JSON body.
HandlerResult = tuple[int, Any]
MethodHandler = Callable[[dict[str, Any]], HandlerResult | Awaitable[HandlerResult]]


class StandInServer:
    """Base of the stand-ins: HTTP plumbing, recording, fault queue, latency, lifecycle.

    Subclasses add routes (``_routes``), extract the API method name from the request, and
    answer each method from ``handlers``.
    """

    #: Form fields whose values are JSON documents, decoded when recorded.
    json_form_fields: frozenset[str] = frozenset()

    def __init__(self, latency: float = 0.0) -> None:
        self.latency = latency
        self.log = RequestLog()
        self._faults: dict[str, deque[Fault]] = defaultdict(deque)
        self._faults_lock = threading.Lock()
        self._runner: web.AppRunner | None = None
        self._port: int | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    # Lifecycle ---------------------------------------------------------------------------
    @property
    def origin(self) -> str:
        """``http://127.0.0.1:<port>``, once started."""
        if self._port is None:
            raise RuntimeError("stand-in not started")
        return f"http://127.0.0.1:{self._port}"

    async def start(self) -> Self:
        """Serve in the running event loop."""
        app = web.Application(client_max_size=64 * 1024 * 1024)
        for method, path, handler in self._routes():
            app.router.add_route(method, path, handler)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self._port = int(self._runner.addresses[0][1])
        self._loop = asyncio.get_running_loop()
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        await self.stop()

    @contextlib.contextmanager
    def running_in_thread(self) -> Iterator[Self]:
        """Serve from a private event loop in a daemon thread (for sync code and benchmarks)."""
        loop = asyncio.new_event_loop()
        started = threading.Event()

        def serve() -> None:
            asyncio.set_event_loop(loop)
            loop.run_until_complete(self.start())
            started.set()
            loop.run_forever()
            loop.run_until_complete(self.stop())
            loop.close()

        self._thread = threading.Thread(target=serve, name=type(self).__name__, daemon=True)
        self._thread.start()
        if not started.wait(10):
            raise RuntimeError("stand-in did not start")
        try:
            yield self
        finally:
            loop.call_soon_threadsafe(loop.stop)
            self._thread.join(10)
            self._thread = None

    # Faults ------------------------------------------------------------------------------
    def fail_next(self, method: str, fault: Fault, times: int = 1) -> None:
        """Answer the next ``times`` calls of ``method`` with ``fault`` (queued after others)."""
        with self._faults_lock:
            self._faults[method].extend([fault] * times)

    def clear_faults(self) -> None:
        with self._faults_lock:
            self._faults.clear()

    def _take_fault(self, method: str) -> Fault | None:
        with self._faults_lock:
            queue = self._faults.get(method)
            return queue.popleft() if queue else None

    # Inspection --------------------------------------------------------------------------
    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request so far, in order."""
        return self.log.all()

    def calls(self, method: str) -> list[RecordedRequest]:
        """The requests of one API method, in order."""
        return [r for r in self.log.all() if r.method == method]

    def mark(self) -> int:
        """A position in the log: pass it as ``since`` to wait only for later requests."""
        return self.log.next_index()

    async def wait_for(self, method: str, *, count: int = 1, timeout: float = 5.0,
                       since: int = 0, where: RequestFilter | None = None) -> RecordedRequest:
        """The ``count``-th request of ``method`` (after ``since``, matching ``where``).

        Returns at once if it was already received; raises AssertionError after ``timeout``.
        """

        def accepts(request: RecordedRequest) -> bool:
            return request.method == method and (where is None or where(request))

        return await self.log.wait_for(accepts, count, timeout, since, f"{count}x {method}")

    # Request plumbing --------------------------------------------------------------------
    def _routes(self) -> list[tuple[str, str, Callable[[web.Request], Awaitable[web.StreamResponse]]]]:
        raise NotImplementedError

    async def _handle(self, request: web.Request, method: str,
                      answer: Callable[[str, dict[str, Any]], Awaitable[HandlerResult]]
                      ) -> web.StreamResponse:
        params = await self._parse(request)
        if self.latency:
            await asyncio.sleep(self.latency)
        fault = self._take_fault(method)
        if fault is not None:
            status, body, response = fault.status, fault.body, fault.to_response()
        else:
            status, body = await answer(method, params)
            response = web.json_response(body, status=status)
        self.log.add(RecordedRequest(
            index=-1, method=method, params=params,  # the log assigns the index
            headers=dict(request.headers), http_method=request.method, path=request.path,
            status=status, response=body, received_at=time.monotonic(),
        ))
        return response

    async def _parse(self, request: web.Request) -> dict[str, Any]:
        params: dict[str, Any] = dict(request.query)
        if request.method != "POST" or not request.can_read_body:
            return params
        if request.content_type == "application/json":
            body = await request.json()
            if isinstance(body, dict):
                params.update(body)
            return params
        if request.content_type == "multipart/form-data":
            form = await request.post()
            for name, value in form.items():
                if isinstance(value, web.FileField):
                    params[name] = {"filename": value.filename,
                                    "content_type": value.content_type,
                                    "size": len(value.file.read())}
                else:
                    params[name] = self._decode_field(name, str(value))
            return params
        form = await request.post()
        params.update({name: self._decode_field(name, str(value))
                       for name, value in form.items()})
        return params

    def _decode_field(self, name: str, value: str) -> Any:
        if name in self.json_form_fields:
            with contextlib.suppress(ValueError):
                return json.loads(value)
        return value
