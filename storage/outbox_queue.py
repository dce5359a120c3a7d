"""Claiming due outbox items for a dispatcher, and the operator's view of the outbox (the
storage side of `bot.dispatcher`; a delivery is recorded by `bot.delivery_outcomes`)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, exists, func, or_, select, update
from sqlalchemy.orm import Session, aliased

from bot import outbox as ob
from bot.outbox import OutboundItem, ThreadRef
from storage.database import Database
from storage.models import CaseRow, CaseThreadRow, OutboxRow
from storage.outbox_repository import DEAD, PENDING, SENT, WITHDRAWN, SqlOutboxRepository
from storage.sqlite_writes import writes_first


class SqlOutboxQueue:
    """Outbox queue over SQLAlchemy. Safe with several processes on PostgreSQL: claims use
    ``FOR UPDATE SKIP LOCKED`` and a lease, so an item is handed to one dispatcher at a time."""

    def __init__(self, database: Database) -> None:
        self.database = database

    def _due_heads(self, destinations: Sequence[str], now: datetime) -> Any:
        earlier = aliased(OutboxRow)
        # Only the oldest pending item of each ordering key may go, and none while another of
        # its key is out on a lease: one at a time per chat or thread, in order. (On
        # PostgreSQL ids follow inserts, not commits: an item can commit after a later one of
        # its key was claimed, and must then wait for that one's send to be recorded.)
        blocked = exists().where(
            earlier.ordering_key == OutboxRow.ordering_key,
            earlier.status == PENDING,
            or_(earlier.id < OutboxRow.id,
                and_(earlier.id != OutboxRow.id, earlier.claimed_until >= now)),
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
                  lease: timedelta, holding: Collection[int] = (),
                  file_lease: timedelta | None = None) -> list[OutboundItem]:
        """Claim up to ``limit`` due heads of their ordering keys. A few statements whatever
        the count (the rows, one UPDATE of their lease, the cases and threads they need): the
        dispatcher claims again as sends finish, so under load this runs many times a second,
        and one statement per item kept items waiting for claims (issue 14)."""
        if not destinations:
            return []
        with writes_first(), self.database.sessions() as session, session.begin():
            stmt = self._due_heads(destinations, now).limit(limit)
            if holding:  # this dispatcher's own sends and unrecorded results: not again
                stmt = stmt.where(OutboxRow.id.not_in(sorted(holding)))
            if session.get_bind().dialect.name == "postgresql":
                stmt = stmt.with_for_update(skip_locked=True, of=OutboxRow)
            rows = list(session.scalars(stmt))
            if not rows:
                return []
            # Claimed before and never recorded (sent or failed): that dispatcher died or lost
            # the database mid-send, so the platform may already have it.
            recovering = {row.id for row in rows if row.claimed_until is not None}
            # Items moving a file's bytes are claimed for longer (``file_lease``).
            by_lease: dict[timedelta, list[int]] = {}
            for row in rows:
                held_for = file_lease if file_lease and row.kind in ob.FILE_KINDS else lease
                by_lease.setdefault(held_for, []).append(row.id)
            for held_for, ids in by_lease.items():
                session.execute(update(OutboxRow).where(OutboxRow.id.in_(ids))
                                .values(claimed_until=now + held_for)
                                .execution_options(synchronize_session=False))
            numbers, threads = self._cases_of(session, rows)
            return [self._item(session, row, row.id in recovering, numbers, threads)
                    for row in rows]

    @staticmethod
    def _cases_of(session: Session, rows: list[OutboxRow]
                  ) -> tuple[dict[int, str], dict[tuple[int, str], ThreadRef]]:
        """The numbers of the rows' cases, and their threads on each row's platform (known
        once the case's parent is posted)."""
        case_ids = {row.case_id for row in rows if row.case_id is not None}
        if not case_ids:
            return {}, {}
        numbers = {case_id: number for case_id, number in session.execute(
            select(CaseRow.id, CaseRow.number).where(CaseRow.id.in_(case_ids)))}
        threads = {(shown.case_id, shown.platform): ThreadRef(shown.channel,
                                                                 shown.parent_message_id)
                   for shown in session.scalars(select(CaseThreadRow).where(
                       CaseThreadRow.case_id.in_(case_ids),
                       CaseThreadRow.platform.in_({row.destination for row in rows})))}
        return numbers, threads

    def _item(self, session: Session, row: OutboxRow, recovering: bool,
              numbers: dict[int, str], threads: dict[tuple[int, str], ThreadRef]) -> OutboundItem:
        number = numbers.get(row.case_id) if row.case_id is not None else None
        thread = (threads.get((row.case_id, row.destination))
                  if row.case_id is not None and number is not None else None)
        payload = dict(row.payload)
        if row.kind == ob.SELLER_EDIT and "platform_message_id" not in payload:
            target = self._text_copy(session, row)
            if target is not None:
                payload["platform_message_id"] = target
        return OutboundItem(
            id=row.id, destination=row.destination, kind=row.kind, payload=payload,
            case_id=row.case_id, case_number=number, attempts=row.attempts, thread=thread,
            recovering=recovering, queued_at=row.created_at,
            attempts_before_retry=row.attempts_before_retry,
        )

    @staticmethod
    def _text_copy(session: Session, edit: OutboxRow) -> str | None:
        """Where the seller got the text of the case message an edit changes: its sent
        SELLER_MESSAGE in the chat the edit goes to (same ordering key). Not a message ref:
        the reply's files have refs for the same case message too (and on Slack the agent's
        own thread message), and an edit aimed at a file's copy fails on Slack or replaces
        a photo's caption on Telegram."""
        wanted = edit.payload.get("case_message_id")
        if not isinstance(wanted, int) or edit.case_id is None:
            return None
        copies = SqlOutboxRepository(session).seller_copies(edit.case_id, wanted)
        return next((copy.platform_message_id for copy in reversed(copies)
                     if copy.kind == ob.SELLER_MESSAGE and copy.status == SENT
                     and copy.ordering_key == edit.ordering_key and copy.platform_message_id),
                    None)

    def next_due_at(self, destinations: Sequence[str]) -> datetime | None:
        if not destinations:
            return None
        with self.database.sessions() as session:
            # A UtcDateTime like its column: aware on SQLite too.
            return session.scalar(
                select(func.min(OutboxRow.next_attempt_at)).where(
                    and_(OutboxRow.status == PENDING, OutboxRow.destination.in_(destinations))
                )
            )

    def counts(self) -> dict[str, int]:
        """Items per status (for /metrics and `frontdoor outbox`)."""
        with self.database.sessions() as session:
            rows = session.execute(select(OutboxRow.status, func.count()).group_by(OutboxRow.status))
            return {status: int(n) for status, n in rows}

    def dead_letters(self, limit: int = 50) -> list[dict[str, Any]]:
        """The newest dead letters, each one an operator may retry (withdrawn items are not
        dead letters: the agent took them back)."""
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
        """Put a dead-lettered item back in the queue (operator action) with a fresh attempt
        budget; the attempts it spent are kept apart, since its last may have reached the
        platform (a sender that can look checks first). A withdrawn item is never retried:
        the agent took it back (`retry_refusal` says so)."""
        with self.database.sessions() as session, session.begin():
            res = session.execute(
                update(OutboxRow).where(OutboxRow.id == item_id, OutboxRow.status == DEAD)
                .values(status=PENDING, next_attempt_at=now, attempts=0, claimed_until=None,
                        attempts_before_retry=OutboxRow.attempts_before_retry
                        + OutboxRow.attempts)
            )
            return bool(getattr(res, "rowcount", 0))

    def retry_refusal(self, item_id: int) -> str:
        """Why ``retry_dead`` did not take ``item_id``, for the operator."""
        with self.database.sessions() as session:
            found = session.execute(select(OutboxRow.status, OutboxRow.last_error)
                                    .where(OutboxRow.id == item_id)).first()
        if found is None:
            return f"no outbox item {item_id}"
        status, reason = found
        if status == WITHDRAWN:
            return f"item {item_id} was withdrawn ({reason}): it must not be sent"
        return f"item {item_id} is {status}, not dead-lettered"

