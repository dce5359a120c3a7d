"""The storage side of bot.claim_retention: deleting old done rows of ``processed_events``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, select

from storage.database import Database
from storage.models import ProcessedEventRow


def oldest_done_before(cutoff: datetime, limit: int) -> Any:
    """The ids of the oldest done claims made before ``cutoff``, through the created_at index;
    a claim still held (``lease_until`` set) is never among them."""
    return (select(ProcessedEventRow.id)
            .where(ProcessedEventRow.created_at < cutoff, ProcessedEventRow.lease_until.is_(None))
            .order_by(ProcessedEventRow.created_at).limit(limit))


class SqlDoneClaims:
    def __init__(self, database: Database) -> None:
        self.database = database

    def delete_done_before(self, cutoff: datetime, limit: int) -> int:
        with self.database.sessions() as session, session.begin():
            ids = list(session.scalars(oldest_done_before(cutoff, limit)))
            if not ids:
                return 0
            session.execute(delete(ProcessedEventRow).where(ProcessedEventRow.id.in_(ids))
                            .execution_options(synchronize_session=False))
        return len(ids)
