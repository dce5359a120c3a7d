"""Sellers, their platform identities and invitations (rule 7)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.domain import (
    Identity,
    Invitation,
    Seller,
)
from storage.models import (
    IdentityRow,
    InvitationRequestRow,
    InvitationRow,
    Merchant,
    SellerRow,
)
from storage.repository_base import SqlRepository as _Repo
from storage.row_mapping import (
    identity_from_row,
    invitation_from_row,
    seller_from_row,
)


class SqlSellerRepository(_Repo):
    def __init__(self, session: Session) -> None:
        super().__init__(session)
        # The session's identity map holds rows weakly: keep the sellers read in this unit of
        # work, so a second get() (the case card, say) is answered without a query.
        self._held: dict[int, SellerRow] = {}

    def get(self, seller_id: int) -> Seller | None:
        row = self._held.get(seller_id) or self.session.get(SellerRow, seller_id)
        if row is None:
            return None
        self._held[seller_id] = row
        return seller_from_row(row)

    def add(self, merchant_id: int | None, display_name: str, now: datetime) -> Seller:
        is_main = merchant_id is None
        if merchant_id is None:
            merchant = Merchant(name=display_name, created_at=now)
            self.session.add(merchant)
            self.session.flush()
            merchant_id = merchant.id
        row = SellerRow(
            merchant_id=merchant_id, display_name=display_name, is_main=is_main, created_at=now
        )
        self.session.add(row)
        self.session.flush()
        self._held[row.id] = row
        return seller_from_row(row)

    def set_preferences(self, seller_id: int, language: str | None,
                        time_zone: str | None) -> None:
        values = {name: value for name, value in (("language", language),
                                                   ("time_zone", time_zone))
                  if value is not None}
        if values:
            # One UPDATE, no read first (the engine stores a new seller's language with the
            # turn's answer); rows held by this session are kept in step.
            self.session.execute(update(SellerRow).where(SellerRow.id == seller_id)
                                 .values(**values))


class SqlIdentityRepository(_Repo):
    def get(self, identity_id: int) -> Identity | None:
        row = self.session.get(IdentityRow, identity_id)
        return identity_from_row(row) if row else None

    def find(self, channel: str, external_id: str) -> Identity | None:
        row = self.session.scalar(
            select(IdentityRow).where(
                IdentityRow.channel == channel, IdentityRow.external_id == external_id
            )
        )
        return identity_from_row(row) if row else None

    def find_by_address(self, channel: str, address: str) -> Identity | None:
        row = self.session.scalar(
            select(IdentityRow).where(IdentityRow.channel == channel,
                                      IdentityRow.address == address).limit(1)
        )
        return identity_from_row(row) if row else None

    def ensure(
        self, channel: str, external_id: str, address: str, display_name: str | None,
        now: datetime,
    ) -> Identity:
        found = self.session.scalar(
            select(IdentityRow).where(
                IdentityRow.channel == channel, IdentityRow.external_id == external_id
            )
        )
        if found is not None:
            if found.address != address or (display_name and found.display_name != display_name):
                found.address = address
                found.display_name = display_name or found.display_name
            return identity_from_row(found)
        row = IdentityRow(
            channel=channel, external_id=external_id, address=address,
            display_name=display_name, created_at=now,
        )
        try:
            with self.session.begin_nested():
                self.session.add(row)
        except IntegrityError:
            # Another request created it first: use theirs.
            again = self.find(channel, external_id)
            assert again is not None
            return again
        return identity_from_row(row)

    def link_seller(self, identity_id: int, seller_id: int) -> None:
        self.session.execute(
            update(IdentityRow).where(IdentityRow.id == identity_id).values(seller_id=seller_id)
        )

    def set_blocked(self, identity_id: int, when: datetime | None) -> bool:
        # Conditional on the current state, so of two processes that see the same change only
        # one reports it (the other's UPDATE finds the row already changed).
        changing = (IdentityRow.blocked_at.is_(None) if when is not None
                    else IdentityRow.blocked_at.is_not(None))
        result = self.session.execute(
            update(IdentityRow).where(IdentityRow.id == identity_id, changing)
            .values(blocked_at=when)
        )
        return bool(getattr(result, "rowcount", 0))

    def for_seller(self, seller_id: int) -> Sequence[Identity]:
        rows = self.session.scalars(select(IdentityRow).where(IdentityRow.seller_id == seller_id))
        return [identity_from_row(r) for r in rows]


class SqlInvitationRepository(_Repo):
    def add(
        self, code: str, seller_name: str, merchant_id: int | None, expires_at: datetime,
        created_by: str | None, now: datetime,
    ) -> Invitation:
        row = InvitationRow(
            code=code, seller_name=seller_name, merchant_id=merchant_id, expires_at=expires_at,
            created_by=created_by, created_at=now,
        )
        self.session.add(row)
        self.session.flush()
        return invitation_from_row(row)

    def get_by_code_for_update(self, code: str) -> Invitation | None:
        row = self.session.scalar(
            select(InvitationRow).where(InvitationRow.code == code).with_for_update()
        )
        return invitation_from_row(row) if row else None

    def creator_of(self, invitation_id: int) -> str | None:
        return self.session.scalar(
            select(InvitationRow.created_by).where(InvitationRow.id == invitation_id))

    def mark_used(self, invitation_id: int, seller_id: int, now: datetime) -> None:
        self.session.execute(
            update(InvitationRow)
            .where(InvitationRow.id == invitation_id)
            .values(used_by_seller_id=seller_id, used_at=now)
        )

    def add_request(self, identity_id: int, note: str, now: datetime) -> int:
        row = InvitationRequestRow(identity_id=identity_id, note=note, created_at=now)
        self.session.add(row)
        self.session.flush()
        return row.id

    def request_ids_of(self, identity_id: int) -> Sequence[int]:
        return list(self.session.scalars(
            select(InvitationRequestRow.id).where(InvitationRequestRow.identity_id == identity_id)
            .order_by(InvitationRequestRow.id)
        ))

    def get_request_for_update(self, request_id: int) -> tuple[int, str] | None:
        """(identity id, note) of a request, locked until the transaction ends."""
        row = self.session.scalar(
            select(InvitationRequestRow).where(InvitationRequestRow.id == request_id)
            .with_for_update()
        )
        return (row.identity_id, row.note) if row else None

    def existing_codes(self, codes: Sequence[str]) -> set[str]:
        if not codes:
            return set()
        return set(self.session.scalars(
            select(InvitationRow.code).where(InvitationRow.code.in_(list(codes)))
        ))

    def list_requests(self) -> Sequence[dict[str, Any]]:
        rows = self.session.execute(
            select(InvitationRequestRow, IdentityRow)
            .join(IdentityRow, IdentityRow.id == InvitationRequestRow.identity_id)
            .order_by(InvitationRequestRow.id)
        )
        return [
            {
                "id": req.id, "channel": ident.channel, "user": ident.external_id,
                "name": ident.display_name, "note": req.note,
                "created_at": req.created_at.isoformat(),
            }
            for req, ident in rows
        ]
