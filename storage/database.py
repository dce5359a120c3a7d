"""Engines, built lazily: SQLite (WAL, immediate write transactions) or PostgreSQL."""

from __future__ import annotations

from functools import cached_property
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

# Execution option marking a unit of work that only reads.
READ_ONLY = "frontdoor_read_only"


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def _configure_sqlite(engine: Engine) -> None:
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
        read_only = conn.get_execution_options().get(READ_ONLY, False)
        conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


class Database:
    """One database: its URL, a lazily built engine and a session factory."""

    def __init__(self, url: str, echo: bool = False, pool_size: int = 10) -> None:
        self.url = url
        self._echo = echo
        self._pool_size = pool_size

    @cached_property
    def engine(self) -> Engine:
        if is_sqlite(self.url):
            engine = create_engine(self.url, echo=self._echo, connect_args={"timeout": 30})
            _configure_sqlite(engine)
            return engine
        return create_engine(
            self.url, echo=self._echo, pool_size=self._pool_size, max_overflow=20,
            pool_pre_ping=True,
        )

    @cached_property
    def sessions(self) -> sessionmaker[Session]:
        return sessionmaker(self.engine, expire_on_commit=False)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def dispose(self) -> None:
        if "engine" in self.__dict__:
            self.engine.dispose()
