"""Write transactions on SQLite take turns in the process before they ask SQLite.

SQLite lets one writer at a time hold a database. A second ``BEGIN IMMEDIATE`` gets
SQLITE_BUSY, and the busy handler (``busy_timeout``) sleeps and asks again: 1, 2, 5, 10 ...
up to 100 ms at a time. Under load that sleep, not the work, is what a write waits for: the
whole-service bench measured an agent reply's outbox item waiting 3.1 s (p50) for its claim and
217 ms for the one-row UPDATE that records it as sent, behind sellers' turns (docs/benchmarks.md).

So writers of this process queue on a lock of their own first, and the next one is woken the
moment the previous one commits or rolls back. SQLite's own lock still decides between
processes (a second process on the same file, a CLI command), where the busy handler remains
the fallback.

Outbox writes (a dispatcher's claim, the record of a send) go first: every answer a seller or
an agent waits for leaves through the outbox, so a turn given to it ends a wait sooner than one
given to the next incoming message's work, which only adds another item behind it.

The turn is taken when a write transaction begins and handed on right after its COMMIT or
ROLLBACK has run: the dialect's ``do_commit`` and ``do_rollback`` of this engine are wrapped,
because SQLAlchemy's ``commit``/``rollback`` events fire *before* the statement and the turn
would be handed on while SQLite still holds the lock. A connection closed or invalidated while
holding the turn (a crash mid-transaction) hands it on too.
"""

from __future__ import annotations

import sqlite3
import threading
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from sqlalchemy import Engine, event

# Same bound as the busy timeout: a write that can't start in 30 s fails as SQLite would.
WAIT_SECONDS = 30.0

# Outbox writers served one after another at most this often while others wait.
FIRST_IN_A_ROW = 8

_first: ContextVar[bool] = ContextVar("frontdoor_sqlite_write_first", default=False)


@contextmanager
def writes_first() -> Iterator[None]:
    """A write transaction begun inside this block gets the next turn before the others
    waiting (contextvars follow ``asyncio.to_thread``; a no-op on PostgreSQL)."""
    token = _first.set(True)
    try:
        yield
    finally:
        _first.reset(token)


def _identity(connection: Any) -> int:
    """The same number for a pooled connection's proxy and the sqlite3 connection inside it
    (SQLAlchemy hands the dialect one or the other)."""
    return id(getattr(connection, "dbapi_connection", None) or connection)


class _Waiter:
    def __init__(self, identity: int) -> None:
        self.identity = identity
        self.granted = threading.Event()


class WriteTurns:
    """One process-wide turn for write transactions on one SQLite engine, handed on in order
    of asking (straight to the next waiter, so a writer that just finished can't take it
    again ahead of the queue); writers that asked to go first (:func:`writes_first`) are
    served before the others, but never more than ``FIRST_IN_A_ROW`` times in a row while
    others wait, so a busy outbox can't starve the sellers' turns.

    The mutex is re-entrant and nothing that can allocate runs under it but the queues'
    appends and pops: a garbage collection there may finalise a forgotten pooled connection,
    whose reset hands its turn on, in the same thread."""

    def __init__(self, wait_seconds: float = WAIT_SECONDS) -> None:
        self.wait_seconds = wait_seconds
        self._mutex = threading.RLock()
        self._holder: int | None = None  # identity of the connection holding the turn
        self._first: deque[_Waiter] = deque()
        self._others: deque[_Waiter] = deque()
        self._firsts_in_a_row = 0

    def take(self, dbapi_connection: Any, first: bool | None = None) -> None:
        """Wait for the turn for ``dbapi_connection`` (at once if it holds it already)."""
        me = _identity(dbapi_connection)
        if self._holder == me:
            return
        first = _first.get() if first is None else first
        waiter = _Waiter(me)
        queue = self._first if first else self._others
        with self._mutex:
            if self._holder is None and not self._first and not self._others:
                self._holder = me
                return
            queue.append(waiter)
        try:
            if waiter.granted.wait(self.wait_seconds):
                return
        except BaseException:
            if self._give_up(waiter, queue):
                self.hand_on(dbapi_connection)  # granted, but nobody will use it
            raise
        if self._give_up(waiter, queue):
            return  # handed over just as the wait ran out
        raise sqlite3.OperationalError(
            f"database is locked (no write turn within {self.wait_seconds:.0f} s)")

    def _give_up(self, waiter: _Waiter, queue: deque[_Waiter]) -> bool:
        """Leave the queue; True if the turn was granted meanwhile (then it is kept). A waiter
        no longer queued was granted it: ``hand_on`` takes it off the queue under the mutex
        and only then, outside it, sets ``granted``."""
        with self._mutex:
            if waiter.granted.is_set() or waiter not in queue:
                return True
            queue.remove(waiter)
            return False

    def hand_on(self, dbapi_connection: Any) -> None:
        """Pass the turn to the next waiter if ``dbapi_connection`` holds it."""
        me = _identity(dbapi_connection)
        if self._holder != me:
            return
        with self._mutex:
            if self._holder != me:
                return
            waiter = self._next()
            self._holder = waiter.identity if waiter is not None else None
        if waiter is not None:
            waiter.granted.set()

    def _next(self) -> _Waiter | None:
        if self._first and (not self._others or self._firsts_in_a_row < FIRST_IN_A_ROW):
            self._firsts_in_a_row += 1
            return self._first.popleft()
        self._firsts_in_a_row = 0
        return self._others.popleft() if self._others else None

    @property
    def held(self) -> bool:
        return self._holder is not None


def take_turns(engine: Engine) -> WriteTurns:
    """Make ``engine``'s write transactions take turns; the caller begins them with
    :meth:`WriteTurns.take` before ``BEGIN IMMEDIATE``."""
    turns = WriteTurns()
    dialect = engine.dialect

    def after(original: Callable[[Any], None]) -> Callable[[Any], None]:
        def run_then_hand_on(dbapi_connection: Any) -> None:
            try:
                original(dbapi_connection)
            finally:
                # After a failed COMMIT SQLite may still hold the transaction; SQLAlchemy
                # rolls it back next, and that ROLLBACK ends it either way.
                turns.hand_on(dbapi_connection)
        return run_then_hand_on

    # Instance attributes of this engine's dialect only (see the module docstring for why).
    dialect.do_commit = after(dialect.do_commit)  # type: ignore[method-assign,assignment]
    dialect.do_rollback = after(dialect.do_rollback)  # type: ignore[method-assign,assignment]

    def release(dbapi_connection: Any, *_args: Any) -> None:
        turns.hand_on(dbapi_connection)

    for name in ("checkin", "close", "close_detached", "invalidate", "soft_invalidate"):
        event.listen(engine, name, release)
    return turns
