"""Scratch databases the benchmarks measure on: a migrated SQLite file in a temporary directory,
or a migrated PostgreSQL database named ``fd_bench_*`` created on a server and dropped after;
and emptying one between parts of a run."""

from __future__ import annotations

import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from storage.database import Database
from storage.migrate import upgrade
from storage.models import Base

PG_SERVER_ENV = "FRONTDOOR_BENCH_PG_URL"
DEFAULT_PG_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
SCRATCH_PREFIX = "fd_bench_"
DEFAULT_SCRATCH = "fd_bench_store"


@contextmanager
def scratch_sqlite() -> Iterator[str]:
    """A migrated SQLite file in a temporary directory (removed afterwards)."""
    with tempfile.TemporaryDirectory(prefix="fd_bench_") as tmp:
        url = f"sqlite:///{tmp}/bench.db"
        upgrade(url)
        yield url


@contextmanager
def scratch_postgres(server_url: str, name: str = DEFAULT_SCRATCH) -> Iterator[str]:
    """Create database ``name`` on the server of ``server_url``, migrate it, drop it after.

    Only databases named ``fd_bench_*`` are ever created or dropped, so nothing else on the
    server can be touched.
    """
    if not re.fullmatch(SCRATCH_PREFIX + r"[a-z0-9_]+", name):
        raise ValueError(f"scratch database names must match {SCRATCH_PREFIX}[a-z0-9_]+: {name!r}")
    url = make_url(server_url)
    admin = create_engine(url, isolation_level="AUTOCOMMIT", poolclass=sqlalchemy.pool.NullPool)
    try:
        with admin.connect() as conn:
            # A leftover from an interrupted run of this benchmark (ours by its name).
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        scratch = url.set(database=name).render_as_string(hide_password=False)
        try:
            upgrade(scratch)
            yield scratch
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


def truncate_all(db: Database) -> None:
    """Empty every table of a scratch database (between the two parts)."""
    names = [t.name for t in reversed(Base.metadata.sorted_tables)]
    with db.engine.begin() as conn:
        if db.dialect == "postgresql":
            joined = ", ".join(f'"{n}"' for n in names)
            conn.execute(text(f"TRUNCATE {joined} RESTART IDENTITY CASCADE"))
        else:
            for n in names:
                conn.execute(text(f'DELETE FROM "{n}"'))
