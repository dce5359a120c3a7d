"""The relay benchmark's databases, created empty (the server migrates them): a SQLite file in
a temporary directory, or the PostgreSQL scratch database ``fd_bench_relay``, dropped after;
no other database is touched."""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator

import psycopg
from psycopg import sql as pgsql
from sqlalchemy.engine import make_url

SCRATCH_DB = "fd_bench_relay"


@contextlib.contextmanager
def sqlite_database() -> Iterator[str]:
    with tempfile.TemporaryDirectory(prefix="fd_bench_relay_") as tmp:
        yield f"sqlite:///{tmp}/frontdoor.db"


def _admin_dsn(server_url: str) -> str:
    u = make_url(server_url)
    parts = {"host": u.host, "port": u.port, "dbname": u.database, "user": u.username,
             "password": u.password}
    return " ".join(f"{k}={v}" for k, v in parts.items() if v is not None)


@contextlib.contextmanager
def postgres_database(server_url: str) -> Iterator[str]:
    """The scratch database, created empty (the server migrates it) and dropped after."""
    drop = pgsql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(pgsql.Identifier(SCRATCH_DB))
    with psycopg.connect(_admin_dsn(server_url), autocommit=True) as conn:
        conn.execute(drop)
        conn.execute(pgsql.SQL("CREATE DATABASE {}").format(pgsql.Identifier(SCRATCH_DB)))
    try:
        yield make_url(server_url).set(database=SCRATCH_DB).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(_admin_dsn(server_url), autocommit=True) as conn:
            conn.execute(drop)
