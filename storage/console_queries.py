"""What `frontdoor chat` reads and writes besides the engine's turns: the seller or invitation
named by ``--as``, the outbox items of its own chat only, and agent replies it has shown."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select, update

from bot import domain as d
from bot.domain import Invitation, Seller
from bot.outbox import CONSOLE
from storage.database import Database
from storage.models import CaseMessageRow, InvitationRow, OutboxRow, SellerRow
from storage.outbox_queue import SqlOutboxQueue
from storage.row_mapping import invitation_from_row, seller_from_row


def chat_ordering_key(address: str) -> str:
    """The ordering key the relay gives every item for one console chat
    (``bot.relay.Relay.to_identity``: ``<channel>:chat:<address>``)."""
    return f"{CONSOLE}:chat:{address}"


class ChatOutboxQueue(SqlOutboxQueue):
    """The outbox as one console user's terminal sees it: only the items of its own chat.

    Several sellers may chat in several terminals on one database; each terminal claims its
    own messages, so none prints (and marks as delivered) another seller's. Items for a seller
    who is not chatting now wait for their next ``frontdoor chat``.
    """

    def __init__(self, database: Database, address: str) -> None:
        super().__init__(database)
        self.address = address

    def _due_heads(self, destinations: Sequence[str], now: datetime) -> Any:
        return super()._due_heads(destinations, now).where(
            OutboxRow.ordering_key == chat_ordering_key(self.address))

    def next_due_at(self, destinations: Sequence[str]) -> datetime | None:
        if CONSOLE not in destinations:
            return None
        with self.database.sessions() as session:
            value = session.scalar(select(func.min(OutboxRow.next_attempt_at)).where(
                OutboxRow.status == "pending",
                OutboxRow.ordering_key == chat_ordering_key(self.address)))
            return _aware(value)


def _aware(value: datetime | None) -> datetime | None:
    from datetime import UTC

    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def find_seller(database: Database, who: str) -> Seller | None:
    """A registered seller by id or by display name (case-insensitive; the oldest first)."""
    with database.sessions() as session:
        if who.strip().isdigit():
            row = session.get(SellerRow, int(who))
            if row is not None:
                return seller_from_row(row)
        found = session.scalars(select(SellerRow).where(
            func.lower(SellerRow.display_name) == who.strip().lower()
        ).order_by(SellerRow.id)).first()
        return seller_from_row(found) if found is not None else None


def find_invitation(database: Database, who: str) -> Invitation | None:
    """An invitation not used yet, by its code or the seller name it was made for
    (case-insensitive); of several, the one that expires last."""
    name = who.strip()
    with database.sessions() as session:
        row = session.scalars(select(InvitationRow).where(
            InvitationRow.used_by_seller_id.is_(None),
            or_(InvitationRow.code == name.upper(),
                func.lower(InvitationRow.seller_name) == name.lower()),
        ).order_by(InvitationRow.expires_at.desc(), InvitationRow.id.desc())).first()
        return invitation_from_row(row) if row is not None else None


def mark_reply_read(database: Database, case_message_id: int, now: datetime) -> bool:
    """An agent's reply was shown in the seller's chat as it arrived: it is not unread (the
    "Updated" mark counts only what the seller has not seen). False if it was read already
    (or is not an agent's reply the seller sees)."""
    with database.sessions() as session, session.begin():
        result = session.execute(update(CaseMessageRow).where(
            CaseMessageRow.id == case_message_id,
            CaseMessageRow.author_kind == d.AGENT,
            CaseMessageRow.internal.is_(False),
            CaseMessageRow.read_at.is_(None),
        ).values(read_at=now))
        return bool(getattr(result, "rowcount", 0))
