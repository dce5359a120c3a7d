"""Processes that start together migrate once: `frontdoor serve` applies the migrations before
it listens, and a PostgreSQL deployment starts several at once."""

from __future__ import annotations

import subprocess
import sys
import uuid

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from storage.migrate import current_head

PROCESSES = 3
ROUNDS = 3  # without the lock, two processes racing failed 2 rounds in 3


def test_processes_upgrading_a_new_postgres_database_at_once_all_succeed(postgres_url: str) -> None:
    admin = create_engine(make_url(postgres_url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        for _ in range(ROUNDS):
            name = f"fd_race_{uuid.uuid4().hex[:10]}"
            with admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
            url = make_url(postgres_url).set(database=name).render_as_string(hide_password=False)
            try:
                upgrades = [subprocess.Popen(
                    [sys.executable, "-c", f"from storage.migrate import upgrade; upgrade({url!r})"],
                    stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(PROCESSES)]
                errors = [proc.communicate(timeout=120)[1].decode()[-600:] for proc in upgrades]
                outcomes = list(zip([proc.returncode for proc in upgrades], errors, strict=True))
                assert [code for code, _ in outcomes] == [0] * PROCESSES, outcomes
                engine = create_engine(url)
                with engine.connect() as conn:
                    versions = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
                engine.dispose()
                assert versions == [current_head()]
            finally:
                with admin.connect() as conn:
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()
