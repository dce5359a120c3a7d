"""Helpers for the case-rule tests: a registered seller, and the outbox rows a change queued."""

from __future__ import annotations

from sqlalchemy import select

from bot.cases import CaseService
from bot.domain import Identity, Seller
from storage.models import OutboxRow
from storage.uow import SqlUnitOfWorkFactory

ORDER = "123-1234567-1234567"


def make_seller(service: CaseService, user: str, name: str = "Acme",
                sub_of: int | None = None) -> tuple[Identity, Seller]:
    inv = service.create_invitation(name, sub_account_of=sub_of)
    ident, _ = service.identify("telegram", user)
    seller = service.register(ident.id, inv.code)
    return ident, seller


def outbox(uow_factory: SqlUnitOfWorkFactory, kind: str | None = None) -> list[OutboxRow]:
    with uow_factory() as uow:
        stmt = select(OutboxRow).order_by(OutboxRow.id)
        if kind:
            stmt = stmt.where(OutboxRow.kind == kind)
        rows = list(uow.session.scalars(stmt))
        uow.session.expunge_all()  # keep them readable after the unit of work ends
        return rows
