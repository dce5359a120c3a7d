"""Migration 0017: the first-response flags get their full names and keep their values, and
back. On SQLite and on a fresh PostgreSQL database."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from alembic import command
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from storage.migrate import alembic_config, upgrade

NOW = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "postgres"])
def empty_url(request: pytest.FixtureRequest, tmp_path: os.PathLike[str]) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/m.db"
        return
    base = os.environ.get("FRONTDOOR_TEST_DATABASE_URL")
    if not base:
        pytest.skip("PostgreSQL not configured (FRONTDOOR_TEST_DATABASE_URL unset)")
    url = make_url(base)
    name = f"fd_mig_{uuid.uuid4().hex[:10]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _rows(url: str, sql: str) -> list[tuple[object, ...]]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(text(sql))]
    finally:
        engine.dispose()


def _run(url: str, sql: str, **params: object) -> None:
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(text(sql), params)
    finally:
        engine.dispose()


def test_the_first_response_flags_keep_their_values_under_their_new_names(
        empty_url: str) -> None:
    upgrade(empty_url, "0016")
    _run(empty_url, "INSERT INTO merchants (id, name, created_at) VALUES (1, 'Acme', :now)", now=NOW)
    _run(empty_url, "INSERT INTO sellers (id, merchant_id, display_name, is_main, created_at) "
                    "VALUES (1, 1, 'Acme', true, :now)", now=NOW)
    _run(empty_url, "INSERT INTO cases (id, number, seller_id, case_type, order_key, title, "
                    "status, created_at, updated_at, status_changed_at, fr_warning_sent, "
                    "fr_breach_sent) VALUES (1, 'CX-000001', 1, 'order', 'O1', 'Orders', 'open', "
                    ":now, :now, :now, true, false)", now=NOW)

    upgrade(empty_url, "0017")
    assert _rows(empty_url, "SELECT id, first_response_warning_sent, first_response_breach_sent "
                            "FROM cases") == [(1, True, False)]

    command.downgrade(alembic_config(empty_url), "0016")
    assert _rows(empty_url, "SELECT id, fr_warning_sent, fr_breach_sent FROM cases") == [
        (1, True, False)]
