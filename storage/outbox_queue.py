"""Claiming due outbox items for a dispatcher, and the operator's view of the outbox (the
storage side of `bot.dispatcher`; a delivery is recorded by `bot.delivery_outcomes`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, exists, func, or_, select, update
from sqlalchemy.orm import Session, aliased

from bot import outbox as ob
from bot.outbox import OutboundItem, ThreadRef
from storage.database import Database
from storage.models import CaseRow, CaseThreadRow, MessageRefRow, OutboxRow
from storage.outbox_repository import DEAD, PENDING
from storage.sqlite_writes import writes_first


class SqlOutboxQueue:
    """Outbox queue over SQLAlchemy. Safe with several processes on PostgreSQL: claims use
    ``FOR UPDATE SKIP LOCKED`` and a lease, so an item is handed to one dispatcher at a time."""

    def __init__(self, database: Database) -> None:
        self.database = database

    def _due_heads(self, destinations: Sequence[str], now: datetime) -> Any:
        earlier = aliased(OutboxRow)
        # Only the oldest pending item of each ordering key may go: this keeps delivery order.
        blocked = exists().where(
            earlier.ordering_key == OutboxRow.ordering_key,
            earlier.status == PENDING,
            earlier.id < OutboxRow.id,
        )
        return (
            select(OutboxRow)
            .where(
                OutboxRow.status == PENDING,
                OutboxRow.destination.in_(destinations),
                OutboxRow.next_attempt_at <= now,
                or_(OutboxRow.claimed_until.is_(None), OutboxRow.claimed_until < now),
                ~blocked,
            )
            .order_by(OutboxRow.id)
        )

    def claim_due(self, destinations: Sequence[str], now: datetime, limit: int,
                  lease: timedelta) -> list[OutboundItem]:
        if not destinations:
            return []
        with writes_first(), self.database.sessions() as session, session.begin():
            stmt = self._due_heads(destinations, now).limit(limit)
            if session.get_bind().dialect.name == "postgresql":
                stmt = stmt.with_for_update(skip_locked=True, of=OutboxRow)
            rows = list(session.scalars(stmt))
            items = []
            for row in rows:
                # Claimed before and never recorded (sent or failed): that dispatcher died or
                # lost the database mid-send, so the platform may already have it.
                recovering = row.claimed_until is not None
                row.claimed_until = now + lease
                items.append(self._item(session, row, recovering))
            return items

    def _item(self, session: Session, row: OutboxRow, recovering: bool) -> OutboundItem:
        thread = None
        number = None
        if row.case_id is not None:
            case = session.get(CaseRow, row.case_id)
            if case is not None:
                number = case.number
                # The case's thread on the item's platform, known once its parent is posted.
                shown = session.get(CaseThreadRow, (row.case_id, row.destination))
                if shown is not None:
                    thread = ThreadRef(shown.channel, shown.parent_message_id)
        payload = dict(row.payload)
        if row.kind == ob.SELLER_EDIT and "platform_message_id" not in payload:
            # The seller's copy, in the chat the edit goes to. On Slack the agent's own thread
            # message has a ref for the same case message too (platform "slack" as well).
            ref = session.scalar(
                select(MessageRefRow).where(
                    MessageRefRow.platform == row.destination,
                    MessageRefRow.chat_id == str(payload.get("address")),
                    MessageRefRow.case_message_id == payload.get("case_message_id"),
                ).order_by(MessageRefRow.id.desc()).limit(1)
            )
            if ref is not None:
                payload["platform_message_id"] = ref.message_id
        return OutboundItem(
            id=row.id, destination=row.destination, kind=row.kind, payload=payload,
            case_id=row.case_id, case_number=number, attempts=row.attempts, thread=thread,
            recovering=recovering,
        )

    def next_due_at(self, destinations: Sequence[str]) -> datetime | None:
        if not destinations:
            return None
        with self.database.sessions() as session:
            value = session.scalar(
                select(func.min(OutboxRow.next_attempt_at)).where(
                    and_(OutboxRow.status == PENDING, OutboxRow.destination.in_(destinations))
                )
            )
            if value is not None and value.tzinfo is None:
                from datetime import UTC

                value = value.replace(tzinfo=UTC)
            return value

    def counts(self) -> dict[str, int]:
        """Items per status (for /metrics and `frontdoor outbox`)."""
        with self.database.sessions() as session:
            rows = session.execute(select(OutboxRow.status, func.count()).group_by(OutboxRow.status))
            return {status: int(n) for status, n in rows}

    def dead_letters(self, limit: int = 50) -> list[dict[str, Any]]:
        with self.database.sessions() as session:
            rows = session.scalars(
                select(OutboxRow).where(OutboxRow.status == DEAD)
                .order_by(OutboxRow.id.desc()).limit(limit)
            )
            return [
                {"id": r.id, "destination": r.destination, "kind": r.kind, "case_id": r.case_id,
                 "attempts": r.attempts, "error": r.last_error,
                 "created_at": r.created_at.isoformat()}
                for r in rows
            ]

    def retry_dead(self, item_id: int, now: datetime) -> bool:
        """Put a dead-lettered item back in the queue (operator action)."""
        with self.database.sessions() as session, session.begin():
            res = session.execute(
                update(OutboxRow).where(OutboxRow.id == item_id, OutboxRow.status == DEAD)
                .values(status=PENDING, next_attempt_at=now, attempts=0, claimed_until=None)
            )
            return bool(getattr(res, "rowcount", 0))
