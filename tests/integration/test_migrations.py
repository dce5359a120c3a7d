"""The Alembic migrations and the SQLAlchemy models describe the same schema."""

from __future__ import annotations

import os
import uuid
from datetime import UTC, datetime

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bot.domain import NewCase
from bot.ports import DuplicateActiveCase
from storage.database import Database
from storage.migrate import upgrade
from storage.models import Base
from storage.uow import SqlUnitOfWork


def _diff(url: str) -> list[object]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"compare_type": True})
            return list(compare_metadata(ctx, Base.metadata))
    finally:
        engine.dispose()


def test_models_match_migrations_on_sqlite(tmp_path: os.PathLike[str]) -> None:
    url = f"sqlite:///{tmp_path}/m.db"
    upgrade(url)
    assert _diff(url) == []


def test_models_match_migrations_on_postgres(postgres_url: str) -> None:
    # The session database was created by running the migrations.
    assert _diff(postgres_url) == []


def test_upgrade_is_idempotent(tmp_path: os.PathLike[str]) -> None:
    url = f"sqlite:///{tmp_path}/m.db"
    upgrade(url)
    upgrade(url)
    assert _diff(url) == []


@pytest.mark.parametrize("order_id", ["123-1234567-1234567", None])
def test_database_itself_refuses_a_second_active_case(db: Database, order_id: str | None) -> None:
    """Rule 1 holds even for code that skips the read-then-write check."""
    now = datetime(2026, 1, 1, tzinfo=UTC)
    with SqlUnitOfWork(db) as uow:
        seller = uow.sellers.add(None, "Acme", now)
        new = NewCase(seller.id, None, "order", order_id, "t", "open", False, now, None)
        uow.cases.add(new)
        with pytest.raises(DuplicateActiveCase):
            uow.cases.add(new)
        # Untyped cases are never "the same issue".
        untyped = NewCase(seller.id, None, None, None, "t", "open", False, now, None)
        uow.cases.add(untyped)
        uow.cases.add(untyped)
        uow.commit()


def _index_definitions(url: str) -> dict[str, str]:
    """Every index's full definition as the database itself reports it (predicates included:
    Alembic's comparison does not look at partial-index WHERE clauses)."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            if engine.dialect.name == "sqlite":
                rows = conn.execute(text(
                    "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"))
            else:
                rows = conn.execute(text(
                    "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' "
                    "AND tablename <> 'alembic_version'"))
            return {name: " ".join(str(sql).split()) for name, sql in rows}
    finally:
        engine.dispose()


def test_index_definitions_of_models_and_migrations_agree_on_sqlite(
        tmp_path: os.PathLike[str]) -> None:
    migrated = f"sqlite:///{tmp_path}/migrated.db"
    upgrade(migrated)
    modelled = f"sqlite:///{tmp_path}/modelled.db"
    engine = create_engine(modelled)
    Base.metadata.create_all(engine)
    engine.dispose()
    ours, theirs = _index_definitions(migrated), _index_definitions(modelled)
    assert "resolved" in ours["uq_cases_active_issue"]  # the partial predicate is there
    # Quoting differs between Alembic's batch DDL and create_all; the words must not.
    assert {k: v.replace('"', "") for k, v in ours.items()} == {
        k: v.replace('"', "") for k, v in theirs.items()}


def test_index_definitions_of_models_and_migrations_agree_on_postgres(postgres_url: str) -> None:
    migrated = _index_definitions(postgres_url)
    assert "status" in migrated["uq_cases_active_issue"]
    scratch = make_url(postgres_url).set(database=f"fd_models_{uuid.uuid4().hex[:8]}")
    admin = create_engine(make_url(postgres_url), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{scratch.database}"'))
    try:
        url = scratch.render_as_string(hide_password=False)
        engine = create_engine(url)
        Base.metadata.create_all(engine)
        engine.dispose()
        assert _index_definitions(url) == migrated
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{scratch.database}" WITH (FORCE)'))
        admin.dispose()


@pytest.mark.parametrize("existing, refused", [
    ("open", True), ("investigating", True), ("pending", True), ("resolved", True),
    ("closed", False), ("declined", False)])
@pytest.mark.parametrize("database", ["sqlite", "postgres"])
def test_migrated_schema_refuses_a_second_active_case_in_every_active_status(
        request: pytest.FixtureRequest, tmp_path: os.PathLike[str], database: str,
        existing: str, refused: bool) -> None:
    if database == "sqlite":
        url = f"sqlite:///{tmp_path}/m.db"
        upgrade(url)
        db = Database(url)
    else:
        db = Database(request.getfixturevalue("postgres_url"))
        with db.engine.begin() as conn:
            names = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
            conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    now = datetime(2026, 1, 1, tzinfo=UTC)
    try:
        with SqlUnitOfWork(db) as uow:
            seller = uow.sellers.add(None, "Acme", now)
            uow.cases.add(NewCase(seller.id, None, "order", "O-1", "t", existing, False, now, None))
            second = NewCase(seller.id, None, "order", "O-1", "t", "open", False, now, None)
            if refused:
                with pytest.raises(DuplicateActiveCase):
                    uow.cases.add(second)
            else:
                uow.cases.add(second)
            uow.commit()
    finally:
        db.dispose()
