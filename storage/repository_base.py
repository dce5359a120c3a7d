"""What every repository shares: the unit of work's session, and which database it talks to."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

#: An INSERT that can say ON CONFLICT: each database has its own construct.
ConflictInsert = Callable[[Any], postgresql.Insert | sqlite.Insert]


def conflict_insert(dialect_name: str) -> ConflictInsert:
    """PostgreSQL's or SQLite's ``insert`` (both offer ``on_conflict_do_nothing``)."""
    return postgresql.insert if dialect_name == "postgresql" else sqlite.insert


class SqlRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    @property
    def _pg(self) -> bool:
        return self.session.get_bind().dialect.name == "postgresql"
