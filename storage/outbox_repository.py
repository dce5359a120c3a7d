"""The outbox table: items queued with the change behind them, and their delivery recorded.

Claiming due items for a dispatcher is `storage.outbox_queue`; what a delivery's result means
for cases and agents is `bot.delivery_outcomes`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, and_, bindparam, func, insert, or_, select, update

from bot import outbox as ob
from bot.outbox import DeliveryResult, SellerCopy
from storage.models import OutboxRow
from storage.notify import CHANNEL as OUTBOX_CHANNEL
from storage.repository_base import SqlRepository
from storage.sqlite_writes import writes_first

PENDING, SENT, DEAD = "pending", "sent", "dead"
#: Taken back by the agent before it reached the seller: never to be sent, not even by an
#: operator's retry of dead letters (``SqlOutboxQueue.retry_dead`` only takes DEAD).
WITHDRAWN = "withdrawn"

_OUTBOX = cast(Table, OutboxRow.__table__)
# Every reply and relayed message is one of these: a plain Core insert, built once (an ORM
# add + flush costs about twice as much per item).
_ADD_OUTBOX = insert(_OUTBOX).returning(_OUTBOX.c.id)
# PostgreSQL: the same insert also signals the dispatchers of other processes (delivered on
# commit, and once per transaction however many items it queued), which saves the commit a
# separate NOTIFY round trip.
_QUEUED = (
    insert(_OUTBOX)
    .values({name: bindparam(name) for name in (
        "destination", "kind", "payload", "case_id", "ordering_key", "status", "attempts",
        "next_attempt_at", "created_at")})
    .returning(_OUTBOX.c.id)
    .cte("queued")
)
_ADD_OUTBOX_NOTIFY = select(_QUEUED.c.id, func.pg_notify(OUTBOX_CHANNEL, "")).select_from(_QUEUED)


class SqlOutboxRepository(SqlRepository):
    added = False

    def add(
        self, destination: str, kind: str, payload: Mapping[str, Any], case_id: int | None,
        ordering_key: str, now: datetime,
    ) -> int:
        stmt = _ADD_OUTBOX_NOTIFY if self._pg else _ADD_OUTBOX
        item_id = self.session.execute(stmt, {
            "destination": destination, "kind": kind, "payload": dict(payload), "case_id": case_id,
            "ordering_key": ordering_key, "status": "pending", "attempts": 0,
            "next_attempt_at": now, "created_at": now,
        }).scalar_one()
        self.added = True
        return int(item_id)

    def complete(self, item_id: int, attempts: int, result: DeliveryResult, now: datetime,
                 retry_at: datetime | None, dead: bool) -> bool:
        """Record a delivery: sent, dead-lettered, or due again at ``retry_at``. False when the
        item is no longer pending (recorded already: an earlier try whose answer was lost).

        One conditional UPDATE: the row lock it takes (PostgreSQL) serialises two records of
        the same item, and the second then finds it no longer pending."""
        values: dict[str, Any] = {"attempts": attempts, "claimed_until": None}
        if result.ok:
            values.update(status=SENT, sent_at=now, platform_message_id=result.platform_message_id,
                          platform_chat_id=result.platform_chat_id)
        elif dead:
            values.update(status=DEAD, last_error=result.error)
        else:
            values.update(last_error=result.error, next_attempt_at=retry_at or now)
        with writes_first():  # usually the unit of work's first statement: it begins it
            done = self.session.execute(
                update(_OUTBOX).where(_OUTBOX.c.id == item_id, _OUTBOX.c.status == PENDING)
                .values(values))
        return bool(getattr(done, "rowcount", 0))

    def drop_pending_of_chat(self, item_id: int, reason: str) -> int:
        """Dead-letter every pending item of the same chat as ``item_id`` (same destination
        and ordering key): that chat takes no messages, and nothing retries forever."""
        row = self.session.get(OutboxRow, item_id)
        if row is None:
            return 0
        result = self.session.execute(
            update(OutboxRow)
            .where(OutboxRow.status == PENDING, OutboxRow.destination == row.destination,
                   OutboxRow.ordering_key == row.ordering_key)
            .values(status=DEAD, last_error=reason)
        )
        return int(getattr(result, "rowcount", 0) or 0)

    def seller_copies(self, case_id: int, case_message_id: int) -> Sequence[SellerCopy]:
        return [SellerCopy(row.id, row.destination, row.ordering_key, row.status, row.sent_at,
                           row.platform_chat_id, row.platform_message_id, row.kind)
                for row in self._of_message(case_id, case_message_id,
                                            (ob.SELLER_MESSAGE, ob.SELLER_FILE))]

    def take_backs(self, case_id: int, case_message_id: int) -> Mapping[int, str]:
        return {row.id: row.status
                for row in self._of_message(case_id, case_message_id, (ob.SELLER_DELETE,))}

    def _of_message(self, case_id: int, case_message_id: int,
                    kinds: Sequence[str]) -> list[OutboxRow]:
        # A case's seller-bound items are few: filter the JSON payload here, on both databases.
        rows = self.session.scalars(select(OutboxRow).where(
            OutboxRow.case_id == case_id, OutboxRow.kind.in_(kinds)).order_by(OutboxRow.id))
        return [row for row in rows if row.payload.get("case_message_id") == case_message_id]

    def withdraw(self, item_id: int, reason: str, now: datetime) -> bool:
        """Withdraw an item that has not reached its chat: queued and not out on a lease, or
        dead-lettered (an operator could requeue it). False when it is being sent or sent.

        One conditional UPDATE: on PostgreSQL an operator's retry of the dead letter takes
        its turn on the row lock, and then finds the item no longer dead."""
        result = self.session.execute(
            update(OutboxRow).where(
                OutboxRow.id == item_id,
                or_(OutboxRow.status == DEAD,
                    and_(OutboxRow.status == PENDING,
                         or_(OutboxRow.claimed_until.is_(None),
                             OutboxRow.claimed_until < now))))
            .values(status=WITHDRAWN, last_error=reason))
        return bool(getattr(result, "rowcount", 0))
