"""The Alembic migrations and the SQLAlchemy models describe the same schema."""

from __future__ import annotations

import os
from datetime import UTC, datetime

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine

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
