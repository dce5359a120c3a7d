"""Worker threads that take urgent work first: deliveries and agents' replies before sellers'
new turns.

Blocking work (every database call) leaves the event loop through ``asyncio.to_thread``, which
queues it for the loop's default executor, first come first served. Under load that queue is
mostly sellers' turns, and the outbox dispatcher's claim of a reply that is already written, or
the record of an agent's Slack event, waits behind all of them: the whole-service bench saw an
agent's reply spend seconds between its outbox row and its send while the sends themselves take
milliseconds (docs/benchmarks.md).

Work submitted inside :func:`urgent` goes ahead of the rest, as the outbox's SQLite writes do
(storage.sqlite_writes): every answer a seller or agent waits for leaves through the outbox, so
a thread given to it ends a wait sooner than one given to the next incoming message, which only
adds another item behind it. Urgent work is served at most ``urgent_in_a_row`` times in a row
while other work waits, so a busy outbox cannot starve the sellers' turns.

asyncio requires its default executor to be a ``ThreadPoolExecutor``; this one is one by type
and replaces the scheduling (``submit``, ``shutdown``) without touching the base class's
internals.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

#: Urgent jobs served one after another at most this often while other work waits.
URGENT_IN_A_ROW = 8

_urgent: ContextVar[bool] = ContextVar("frontdoor_urgent_work", default=False)


@contextmanager
def urgent() -> Iterator[None]:
    """Blocking work submitted inside this block (``asyncio.to_thread``, tasks started here)
    goes ahead of ordinary work in an :class:`UrgentFirstExecutor`."""
    token = _urgent.set(True)
    try:
        yield
    finally:
        _urgent.reset(token)


def is_urgent() -> bool:
    return _urgent.get()


_Job = tuple[Future[Any], Callable[..., Any], tuple[Any, ...], dict[str, Any]]


class UrgentFirstExecutor(ThreadPoolExecutor):
    """A fixed number of worker threads (started as needed) serving two queues: urgent jobs
    first, but at most ``urgent_in_a_row`` in a row while ordinary jobs wait."""

    def __init__(self, workers: int, urgent_in_a_row: int = URGENT_IN_A_ROW,
                 name: str = "frontdoor-work") -> None:
        if workers < 1:
            raise ValueError("an executor needs at least one worker thread")
        super().__init__(max_workers=workers, thread_name_prefix=name)
        self.workers = workers
        self.urgent_in_a_row = urgent_in_a_row
        self._name = name
        self._queues: tuple[deque[_Job], deque[_Job]] = (deque(), deque())  # urgent, ordinary
        self._ready = threading.Condition()
        self._running_threads: list[threading.Thread] = []
        self._idle = 0
        self._urgent_run = 0
        self._closed = False

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        future: Future[Any] = Future()
        with self._ready:
            if self._closed:
                raise RuntimeError("cannot schedule new futures after shutdown")
            self._queues[0 if _urgent.get() else 1].append((future, fn, args, kwargs))
            # Idle workers take queued jobs when they wake; one more is needed when the jobs
            # waiting outnumber them.
            waiting = len(self._queues[0]) + len(self._queues[1])
            if waiting > self._idle and len(self._running_threads) < self.workers:
                self._start_thread()
            self._ready.notify()
        return future

    def queued(self) -> tuple[int, int]:
        """Jobs waiting for a thread: (urgent, ordinary)."""
        with self._ready:
            return len(self._queues[0]), len(self._queues[1])

    def _start_thread(self) -> None:
        thread = threading.Thread(target=self._work, daemon=True,
                                  name=f"{self._name}_{len(self._running_threads)}")
        self._running_threads.append(thread)
        thread.start()

    def _next(self) -> _Job | None:
        urgent_jobs, ordinary = self._queues
        if urgent_jobs and (not ordinary or self._urgent_run < self.urgent_in_a_row):
            self._urgent_run = self._urgent_run + 1 if ordinary else 0
            return urgent_jobs.popleft()
        if ordinary:
            self._urgent_run = 0
            return ordinary.popleft()
        return None

    def _work(self) -> None:
        while True:
            with self._ready:
                self._idle += 1
                job = self._next()
                while job is None:
                    if self._closed:
                        self._idle -= 1
                        return
                    self._ready.wait()
                    job = self._next()
                self._idle -= 1
            future, fn, args, kwargs = job
            del job
            if not future.set_running_or_notify_cancel():
                continue
            try:
                result = fn(*args, **kwargs)
            except BaseException as exc:  # handed to the waiter, as ThreadPoolExecutor does
                future.set_exception(exc)
            else:
                future.set_result(result)
            del future, fn, args, kwargs

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Take no more work; the queued jobs still run unless ``cancel_futures``."""
        with self._ready:
            self._closed = True
            if cancel_futures:
                for queue in self._queues:
                    while queue:
                        queue.popleft()[0].cancel()
            self._ready.notify_all()
            threads = list(self._running_threads)
        if wait:
            for thread in threads:
                if thread is not threading.current_thread():
                    thread.join()
        super().shutdown(wait=wait, cancel_futures=cancel_futures)
