"""The SQL side of round-robin assignment (`bot.round_robin.RotationStore`): one row per
agents' pool with the member given the last case.

``last_member`` locks the pool's row in the caller's transaction: on PostgreSQL with
``SELECT ... FOR UPDATE`` (created first with ``ON CONFLICT DO NOTHING`` if missing, so two
first assignments do not collide), on SQLite by the write lock every write transaction takes
(``BEGIN IMMEDIATE``, storage.database). The next chooser waits for the commit and sees the
member just chosen.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bot.ports import UnitOfWork
from storage.models import AgentRotationRow
from storage.repository_base import conflict_insert
from storage.uow import SqlUnitOfWork


def _session(uow: UnitOfWork) -> Session:
    if not isinstance(uow, SqlUnitOfWork):
        raise TypeError("SqlAgentRotations needs a storage.uow.SqlUnitOfWork")
    return uow.session


class SqlAgentRotations:
    def last_member(self, uow: UnitOfWork, pool: str) -> str | None:
        session = _session(uow)
        insert = conflict_insert(session.get_bind().dialect.name)
        session.execute(insert(AgentRotationRow).values(pool=pool, assigned_count=0)
                        .on_conflict_do_nothing())
        return session.execute(
            select(AgentRotationRow.last_member).where(AgentRotationRow.pool == pool)
            .with_for_update()).scalar_one()

    def record(self, uow: UnitOfWork, pool: str, member: str, now: datetime) -> None:
        _session(uow).execute(
            update(AgentRotationRow).where(AgentRotationRow.pool == pool)
            .values(last_member=member, assigned_count=AgentRotationRow.assigned_count + 1,
                    updated_at=now))
