"""Helpers for the scheduler's sweep tests: a sweeper, a seller's open case, and what the
sweeps left behind (case events, and the outbox items for the seller, the thread, the channel)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select, update

from bot import outbox as ob
from bot.cases import CaseService
from bot.domain import Case
from bot.sweeps import SchedulerConfig, Sweeper
from storage.models import CaseEventRow, CaseRow
from storage.sweeps import SqlSweepStore
from storage.uow import SqlUnitOfWorkFactory
from tests.integration.case_rules_support import make_seller, outbox


def new_sweeper(service: CaseService, **config: Any) -> Sweeper:
    return Sweeper(service, SqlSweepStore(), SchedulerConfig(**config))


@pytest.fixture
def sweeper(service: CaseService) -> Sweeper:
    return new_sweeper(service)


def open_case(service: CaseService, user: str = "1", case_type: str = "payment",
              urgent: bool = False) -> tuple[int, Case]:
    ident, seller = make_seller(service, user, f"Seller {user}")
    case = service.open_case(seller.id, case_type, "payout missing", identity_id=ident.id,
                             urgent=urgent).case
    return seller.id, case


def events(uow_factory: SqlUnitOfWorkFactory, case_id: int, kind: str | None = None
           ) -> list[CaseEventRow]:
    with uow_factory() as uow:
        stmt = select(CaseEventRow).where(CaseEventRow.case_id == case_id).order_by(CaseEventRow.id)
        if kind:
            stmt = stmt.where(CaseEventRow.kind == kind)
        rows = list(uow.session.scalars(stmt))
        uow.session.expunge_all()
        return rows


def seller_texts(uow_factory: SqlUnitOfWorkFactory) -> list[dict[str, Any]]:
    return [r.payload["reply"] for r in outbox(uow_factory, ob.SELLER_MESSAGE)]


def reminders(uow_factory: SqlUnitOfWorkFactory) -> list[dict[str, Any]]:
    return [r for r in seller_texts(uow_factory) if r["text"].startswith("⏰")]


def thread_texts(uow_factory: SqlUnitOfWorkFactory) -> list[str]:
    return [r.payload["text"] for r in outbox(uow_factory, ob.THREAD_POST)]


def channel_posts(uow_factory: SqlUnitOfWorkFactory) -> list[dict[str, Any]]:
    return [r.payload for r in outbox(uow_factory, ob.CHANNEL_POST)]


def set_case(uow_factory: SqlUnitOfWorkFactory, case_id: int, **values: Any) -> None:
    with uow_factory() as uow:
        uow.session.execute(update(CaseRow).where(CaseRow.id == case_id).values(**values))
        uow.commit()
