"""What a benchmark's numbers were measured on: CPUs, load, OS, library versions and, when
one is used, the PostgreSQL server's version and durability settings."""

from __future__ import annotations

import os
import platform
import sqlite3

import psycopg
import sqlalchemy
from sqlalchemy import create_engine, text


def machine(pg_url: str | None) -> dict[str, str]:
    """What the numbers were measured on."""
    info = {
        "CPUs (nproc)": str(len(os.sched_getaffinity(0))),
        "load average at start": " ".join(f"{x:.2f}" for x in os.getloadavg()),
        "OS": platform.platform(),
        "Python": platform.python_version(),
        "SQLite": sqlite3.sqlite_version,
        "SQLAlchemy / psycopg": f"{sqlalchemy.__version__} / {psycopg.__version__}",
    }
    if pg_url:
        engine = create_engine(pg_url, poolclass=sqlalchemy.pool.NullPool)
        with engine.connect() as conn:
            version = conn.execute(text("SHOW server_version")).scalar()
            settings = {k: conn.execute(text(f"SHOW {k}")).scalar()
                        for k in ("shared_buffers", "synchronous_commit", "fsync")}
        engine.dispose()
        info["PostgreSQL"] = f"{version} on 127.0.0.1 (" + ", ".join(
            f"{k}={v}" for k, v in settings.items()) + ")"
    return info
