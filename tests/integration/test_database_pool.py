"""Pooled PostgreSQL connections: no SELECT 1 per checkout, yet a connection the server has
closed is never handed to a unit of work."""

from __future__ import annotations

import time
from datetime import timedelta

from sqlalchemy import create_engine, event, text

from bot.clock import ManualClock
from storage.database import Database, idle_connection_alive
from storage.uow import SqlUnitOfWork


def _backend_pid(db: Database) -> int:
    with db.engine.connect() as conn:
        return int(conn.execute(text("SELECT pg_backend_pid()")).scalar_one())


def _terminate(url: str, pid: int) -> None:
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            for _ in range(100):  # wait until the backend is really gone
                alive = conn.execute(text("SELECT count(*) FROM pg_stat_activity WHERE pid = :pid"),
                                     {"pid": pid}).scalar_one()
                if not alive:
                    break
                time.sleep(0.02)
    finally:
        admin.dispose()


def test_a_connection_the_server_closed_is_replaced_without_a_ping(postgres_url: str) -> None:
    db = Database(postgres_url, pool_size=1)
    try:
        assert not db.engine.pool._pre_ping
        first = _backend_pid(db)
        _terminate(postgres_url, first)

        statements: list[str] = []
        event.listen(db.engine, "before_cursor_execute",
                     lambda _c, _cur, stmt, *_a: statements.append(stmt))
        # The next unit of work gets a fresh connection instead of an error.
        now = ManualClock().now()
        with SqlUnitOfWork(db) as uow:
            assert uow.inbound.claim("test", "pool-1", now, timedelta(seconds=30))
            uow.commit()
        assert _backend_pid(db) != first
        assert not any("SELECT 1" in s for s in statements)
    finally:
        db.dispose()


def test_a_live_idle_connection_passes_the_check(postgres_url: str) -> None:
    db = Database(postgres_url, pool_size=1)
    try:
        with db.engine.connect() as conn:
            raw = conn.connection.dbapi_connection
            assert raw is not None
            conn.rollback()
            assert idle_connection_alive(raw)
    finally:
        db.dispose()


def test_a_closed_dbapi_connection_fails_the_check(postgres_url: str) -> None:
    db = Database(postgres_url, pool_size=1)
    try:
        raw = db.engine.raw_connection()
        dbapi = raw.dbapi_connection
        assert dbapi is not None
        dbapi.close()
        assert not idle_connection_alive(dbapi)
        raw.invalidate()
    finally:
        db.dispose()


def test_a_connection_without_a_socket_fails_the_check() -> None:
    class NoSocket:
        def fileno(self) -> int:
            raise OSError("closed")

    assert not idle_connection_alive(NoSocket())
