"""Rule 5 against a real database, SQLite and PostgreSQL: urgent tightens the first-response
target, keep open moves the auto-close a limited number of times, and the first-response clock
stands still while the case waits for the seller."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.cases import CaseService
from bot.clock import ManualClock
from bot.errors import InvalidTransition, KeepOpenLimit
from tests.integration.case_rules_support import make_seller


# Urgent, keep open (rule 5) --------------------------------------------------------------------
def test_urgent_tightens_first_response_target(service: CaseService, clock: ManualClock) -> None:
    _, seller = make_seller(service, "1")
    case = service.open_case(seller.id, "account_access", "locked out").case
    assert case.first_response_due_at == clock.now() + timedelta(hours=24)
    clock.advance(hours=1)
    urgent = service.set_urgent(case.number, True, "seller", "1", seller_id=seller.id)
    assert urgent.urgent and urgent.first_response_due_at == clock.now() + timedelta(hours=4)


def test_urgent_while_waiting_for_the_seller_counts_from_the_pause(
        service: CaseService, clock: ManualClock) -> None:
    _, seller = make_seller(service, "1")
    case = service.open_case(seller.id, "account_access", "locked out").case
    clock.advance(hours=2)
    service.change_status(case.number, "pending")
    clock.advance(hours=8)  # the clock stands still at 2 h while the seller is away
    service.set_urgent(case.number, True, "seller", "1", seller_id=seller.id)
    clock.advance(hours=2)
    back, _, _ = service.add_seller_message(seller.id, case.number, "here is the info")
    # Flagged while paused: the 4 h urgent target runs from the seller's reply (16 h after
    # opening), not from the flag during the pause (which would have left no time at all).
    assert back.first_response_due_at == clock.now() + timedelta(hours=4)


def test_keep_open_extends_deadline_a_limited_number_of_times(service: CaseService,
                                                              clock: ManualClock) -> None:
    _, seller = make_seller(service, "1")
    case = service.open_case(seller.id, "inventory", "stock mismatch").case
    with pytest.raises(InvalidTransition, match="in progress"):
        service.keep_open(seller.id, case.number)
    pending = service.change_status(case.number, "pending")
    assert pending.auto_close_at == clock.now() + timedelta(days=7)
    kept = service.keep_open(seller.id, case.number)
    assert kept.auto_close_at == clock.now() + timedelta(days=14)
    service.keep_open(seller.id, case.number)
    with pytest.raises(KeepOpenLimit):
        service.keep_open(seller.id, case.number)


def test_first_response_clock_pauses_while_pending(service: CaseService,
                                                   clock: ManualClock) -> None:
    _, seller = make_seller(service, "1")
    case = service.open_case(seller.id, "listing", "suppressed").case
    due = case.first_response_due_at
    assert due is not None
    service.change_status(case.number, "pending")
    clock.advance(hours=5)
    back, _, _ = service.add_seller_message(seller.id, case.number, "here you go")
    assert back.first_response_due_at == due + timedelta(hours=5)
