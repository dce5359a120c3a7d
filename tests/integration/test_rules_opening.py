"""Opening a case against a real database, SQLite and PostgreSQL: one case per issue (rule 1),
its number and title, and the daily cap on new cases (rule 8)."""

from __future__ import annotations

import pytest

from bot.cases import CaseService
from bot.clock import ManualClock
from bot.errors import DailyCapReached
from storage.uow import SqlUnitOfWorkFactory
from tests.integration.case_rules_support import ORDER, make_seller


# One case per issue (rule 1) -------------------------------------------------------------------
def test_same_issue_returns_the_active_case(service: CaseService) -> None:
    ident, seller = make_seller(service, "1")
    first = service.open_case(seller.id, "order", "never arrived", order_id=ORDER,
                              identity_id=ident.id)
    again = service.open_case(seller.id, "order", "still nothing", order_id=ORDER)
    assert first.created and not again.created
    assert again.case.number == first.case.number == "CX-000001"
    other_order = service.open_case(seller.id, "order", "another", order_id="240518K7QW93XZ")
    other_type = service.open_case(seller.id, "payment", "fee", order_id=ORDER)
    assert other_order.created and other_type.created
    assert other_type.case.number == "CX-000003"


def test_case_numbers_are_gapless_and_prefixed(db: object, relay: object, clock: ManualClock) -> None:
    from storage.database import Database

    assert isinstance(db, Database)
    svc = CaseService(SqlUnitOfWorkFactory(db, "ZX"), clock=clock)
    _, seller = make_seller(svc, "1")
    numbers = [svc.open_case(seller.id, None, f"question {i}").case.number for i in range(3)]
    assert numbers == ["ZX-000001", "ZX-000002", "ZX-000003"]


def test_untyped_case_is_titled_with_its_creation_time(service: CaseService) -> None:
    _, seller = make_seller(service, "1")
    case = service.open_case(seller.id, None, "hello?").case
    assert case.title == "Enquiry of 2026-01-05 09:00 UTC"


def test_closed_case_does_not_block_a_new_one(service: CaseService) -> None:
    _, seller = make_seller(service, "1")
    first = service.open_case(seller.id, "listing", "photo rejected").case
    service.change_status(first.number, "closed")
    second = service.open_case(seller.id, "listing", "photo rejected again")
    assert second.created and second.case.number != first.number


# Guideline abuse (rule 8) ----------------------------------------------------------------------
def test_daily_cap_on_new_cases(service: CaseService, clock: ManualClock) -> None:
    _, seller = make_seller(service, "1")
    for i in range(5):
        service.open_case(seller.id, None, f"question {i}")
    with pytest.raises(DailyCapReached, match="limit is 5"):
        service.open_case(seller.id, None, "one more")
    clock.advance(hours=24, seconds=1)
    assert service.open_case(seller.id, None, "next day").created
