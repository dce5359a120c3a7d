"""The inbox of inbound events acknowledged before processing, over SQLAlchemy (the storage side
of `bot.inbox`). Safe with several processes: a record is inserted once (a unique source and
event id), and claims of lapsed records skip rows another process is claiming (PostgreSQL
``FOR UPDATE SKIP LOCKED``; SQLite has one writer at a time)."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Exists, delete, exists, func, select, update
from sqlalchemy.orm import aliased

from bot.inbox import InboxEvent
from storage.database import Database
from storage.models import InboxRow
from storage.repository_base import conflict_insert

MAX_BACKOFF_DOUBLINGS = 6
#: An event keeps the later events of its conversation waiting for this many attempts; one
#: that keeps failing after that (a poisonous event) no longer holds its conversation up.
ORDER_KEEPING_ATTEMPTS = 3


def _older_of_its_conversation(source: Any, conversation: Any, record_id: Any) -> Exists:
    """Whether an older record of the same conversation is there that still keeps the order
    (it has not failed ORDER_KEEPING_ATTEMPTS times); a record without a conversation waits
    for nothing."""
    older = aliased(InboxRow)
    return exists().where(older.source == source, older.conversation == conversation,
                          older.id < record_id, older.attempts < ORDER_KEEPING_ATTEMPTS)


class SqlInbox:
    def __init__(self, database: Database) -> None:
        self.database = database

    def record(self, source: str, event_id: str, body: str, now: datetime,
               lease: timedelta, conversation: str | None = None) -> InboxEvent | None:
        insert = conflict_insert(self.database.dialect)
        owner = uuid.uuid4().hex
        statement = (insert(InboxRow)
                     .values(source=source, event_id=event_id, body=body, received_at=now,
                             lease_until=now + lease, owner=owner, attempts=1,
                             conversation=conversation or None)
                     .on_conflict_do_nothing().returning(InboxRow.id))
        with self.database.sessions() as session, session.begin():
            inserted = session.execute(statement).first()
        return None if inserted is None else InboxEvent(source, event_id, body, owner, 1)

    def claim_due(self, source: str, now: datetime, lease: timedelta,
                  limit: int) -> list[InboxEvent]:
        query = (select(InboxRow)
                 .where(InboxRow.source == source, InboxRow.lease_until < now,
                        ~_older_of_its_conversation(InboxRow.source, InboxRow.conversation,
                                                    InboxRow.id))
                 .order_by(InboxRow.id).limit(limit))
        claimed = []
        with self.database.sessions() as session, session.begin():
            if self.database.dialect == "postgresql":
                query = query.with_for_update(skip_locked=True)
            for row in session.scalars(query):
                row.owner = uuid.uuid4().hex
                row.attempts += 1
                # An event that keeps failing is retried ever less often (up to 64 leases
                # apart), never dropped.
                row.lease_until = now + lease * 2 ** min(row.attempts - 2, MAX_BACKOFF_DOUBLINGS)
                claimed.append(InboxEvent(row.source, row.event_id, row.body, row.owner,
                                          row.attempts))
        return claimed

    def waits_behind_older(self, event: InboxEvent) -> bool:
        mine = (select(InboxRow.id, InboxRow.conversation)
                .where(InboxRow.source == event.source, InboxRow.event_id == event.event_id)
                .subquery())
        with self.database.sessions() as session:
            found = session.scalar(select(_older_of_its_conversation(
                event.source, mine.c.conversation, mine.c.id)))
        return bool(found)

    def step_back(self, event: InboxEvent, now: datetime) -> None:
        with self.database.sessions() as session, session.begin():
            session.execute(update(InboxRow).where(
                InboxRow.source == event.source, InboxRow.event_id == event.event_id,
                InboxRow.owner == event.owner).values(lease_until=now))

    def done(self, event: InboxEvent) -> bool:
        with self.database.sessions() as session, session.begin():
            result = session.execute(delete(InboxRow).where(
                InboxRow.source == event.source, InboxRow.event_id == event.event_id,
                InboxRow.owner == event.owner))
        return bool(getattr(result, "rowcount", 0))

    def waiting(self, source: str) -> int:
        with self.database.sessions() as session:
            count = session.scalar(select(func.count()).select_from(InboxRow)
                                   .where(InboxRow.source == source))
        return int(count or 0)
