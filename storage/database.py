"""Engines, built lazily: SQLite (WAL, immediate write transactions) or PostgreSQL."""

from __future__ import annotations

import re
import select
from functools import cached_property
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import Session, sessionmaker

from storage.sqlite_writes import WriteTurns, take_turns

# Execution option marking a unit of work that only reads.
READ_ONLY = "frontdoor_read_only"


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def _configure_sqlite(engine: Engine) -> WriteTurns:
    turns = take_turns(engine)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Take control of transactions from pysqlite so we can BEGIN IMMEDIATE: a write
        # transaction that starts as a reader and upgrades later can fail with SQLITE_BUSY.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # Readers need no write lock (WAL lets them run beside a writer).
        if conn.get_execution_options().get(READ_ONLY, False):
            conn.exec_driver_sql("BEGIN")
            return
        turns.take(conn.connection)  # storage.sqlite_writes says why
        try:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            turns.hand_on(conn.connection)
            raise

    return turns


# Pooled PostgreSQL connections are replaced after this many seconds, before a server or
# firewall idle timeout can cut them silently.
POOL_RECYCLE_S = 1800


def idle_connection_alive(dbapi_conn: Any) -> bool:
    """Whether a pooled (idle) connection is still usable, without a round trip.

    An idle connection has nothing to read: if its socket is readable, the server has sent
    an error and closed it (restart, ``pg_terminate_backend``, idle timeout) or the socket
    is at end of file. Costs one non-blocking poll instead of a ``SELECT 1`` per checkout.
    """
    if getattr(dbapi_conn, "closed", False) or getattr(dbapi_conn, "broken", False):
        return False
    try:
        fd = dbapi_conn.fileno()
    except Exception:  # the connection no longer has a socket
        return False
    if hasattr(select, "poll"):
        poller = select.poll()
        poller.register(fd, select.POLLIN | select.POLLPRI | select.POLLERR | select.POLLHUP)
        return not poller.poll(0)
    readable, _, errored = select.select([fd], [], [fd], 0)
    return not readable and not errored


_READS = ("SELECT", "WITH", "SHOW", "EXPLAIN")
# A query may still write (a data-modifying WITH, pg_notify) or take row locks that autocommit
# would drop at once: refuse those too.
_WRITES_IN_A_QUERY = re.compile(
    r"\b(INSERT|UPDATE|DELETE|MERGE|pg_notify)\b|\bFOR\s+(NO\s+KEY\s+)?(UPDATE|SHARE)\b",
    re.IGNORECASE)


def _configure_postgres(engine: Engine) -> None:
    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_conn: Any, _record: Any, _proxy: Any) -> None:
        if not idle_connection_alive(dbapi_conn):
            # The pool drops this connection and checks out (or opens) another one.
            raise DisconnectionError("the server closed this pooled connection")

    @event.listens_for(engine, "before_cursor_execute")
    def _reads_only(conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        # Read-only units of work run in autocommit (see Database.read_only_options), where a
        # write would be committed at once: refuse anything but a query there.
        if conn.get_execution_options().get(READ_ONLY) and (
                not statement.lstrip()[:7].upper().startswith(_READS)
                or _WRITES_IN_A_QUERY.search(statement)):
            raise PermissionError(f"write in a read-only unit of work: {statement[:60]!r}")


class Database:
    """One database: its URL, a lazily built engine and a session factory."""

    def __init__(self, url: str, echo: bool = False, pool_size: int = 10) -> None:
        self.url = url
        self._echo = echo
        self._pool_size = pool_size
        self.write_turns: WriteTurns | None = None  # SQLite only (storage.sqlite_writes)

    @cached_property
    def engine(self) -> Engine:
        if is_sqlite(self.url):
            engine = create_engine(self.url, echo=self._echo, connect_args={"timeout": 30})
            self.write_turns = _configure_sqlite(engine)
            return engine
        # No pool_pre_ping: its SELECT 1 is a round trip on every checkout, i.e. on every
        # unit of work. A dead pooled connection is found by a non-blocking look at its socket
        # instead, and connections are recycled before idle timeouts; a connection that dies
        # in use fails that transaction and is invalidated (SQLAlchemy's disconnect handling).
        engine = create_engine(
            self.url, echo=self._echo, pool_size=self._pool_size, max_overflow=20,
            pool_recycle=POOL_RECYCLE_S,
        )
        _configure_postgres(engine)
        return engine

    @cached_property
    def read_only_options(self) -> dict[str, Any]:
        """Execution options of a read-only unit of work's connection. SQLite: a plain
        (deferred) BEGIN, no write lock. PostgreSQL: autocommit, which saves the BEGIN and
        ROLLBACK round trips; under READ COMMITTED every statement takes its own snapshot
        anyway, so the reads see exactly what they would inside a transaction."""
        if self.dialect == "postgresql":
            return {READ_ONLY: True, "isolation_level": "AUTOCOMMIT"}
        return {READ_ONLY: True}

    @cached_property
    def sessions(self) -> sessionmaker[Session]:
        return sessionmaker(self.engine, expire_on_commit=False)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def ping(self) -> None:
        """One round trip to the database; raises if it cannot be reached (readiness)."""
        with self.engine.connect() as conn:
            conn.execute(text("SELECT 1"))

    def dispose(self) -> None:
        if "engine" in self.__dict__:
            self.engine.dispose()
