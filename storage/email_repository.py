"""Sellers' email addresses (`bot.ports.SellerEmailRepository`), one row per seller."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from bot.seller_emails import SellerEmail
from storage.models import SellerEmailRow
from storage.repository_base import SqlRepository


def _aware(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def _email(row: SellerEmailRow) -> SellerEmail:
    return SellerEmail(row.seller_id, row.address, _aware(row.verified_at), row.pending_address,
                       _aware(row.token_expires_at))


class SqlSellerEmailRepository(SqlRepository):
    def get(self, seller_id: int) -> SellerEmail | None:
        row = self.session.get(SellerEmailRow, seller_id)
        return _email(row) if row is not None else None

    def set_pending(self, seller_id: int, address: str, token_hash: str, expires_at: datetime,
                    now: datetime) -> None:
        row = self.session.get(SellerEmailRow, seller_id, with_for_update=True)
        if row is None:
            row = SellerEmailRow(seller_id=seller_id, updated_at=now)
            self.session.add(row)
        row.pending_address = address
        row.token_hash = token_hash
        row.token_expires_at = expires_at
        row.updated_at = now
        self.session.flush()

    def find_by_token_for_update(self, token_hash: str) -> SellerEmail | None:
        row = self.session.scalar(select(SellerEmailRow).where(
            SellerEmailRow.token_hash == token_hash).with_for_update())
        return _email(row) if row is not None else None

    def verify(self, seller_id: int, now: datetime) -> SellerEmail:
        row = self.session.get(SellerEmailRow, seller_id, with_for_update=True)
        if row is None or row.pending_address is None:
            raise LookupError(f"seller {seller_id} has no address waiting for verification")
        row.address = row.pending_address
        row.verified_at = now
        row.pending_address = None
        row.token_hash = None
        row.token_expires_at = None
        row.updated_at = now
        self.session.flush()
        return _email(row)

    def remove(self, seller_id: int) -> bool:
        row = self.session.get(SellerEmailRow, seller_id, with_for_update=True)
        if row is None:
            return False
        self.session.delete(row)
        self.session.flush()
        return True
