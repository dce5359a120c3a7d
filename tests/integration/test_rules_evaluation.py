"""Rule 6 against a real database, SQLite and PostgreSQL: a resolved case is rated once, within
four days."""

from __future__ import annotations

import pytest

from bot.cases import CaseService
from bot.clock import ManualClock
from bot.errors import EvaluationRefused, InvalidInput
from tests.integration.case_rules_support import make_seller


# Evaluation (rule 6) ---------------------------------------------------------------------------
def test_evaluation_once_within_four_days(service: CaseService, clock: ManualClock) -> None:
    _, seller = make_seller(service, "1")
    case = service.open_case(seller.id, "advertising", "ads paused").case
    with pytest.raises(EvaluationRefused, match="not been resolved"):
        service.evaluate(seller.id, case.number, "like")
    service.change_status(case.number, "resolved")
    with pytest.raises(InvalidInput, match="unknown evaluation"):
        service.evaluate(seller.id, case.number, "great")
    # Issue 11: a lower rating is recorded without a reason; the reason may follow.
    ev = service.evaluate(seller.id, case.number, "disappointing", "took too long")
    assert ev.level == "disappointing" and ev.reason_code == "other"
    with pytest.raises(EvaluationRefused, match="already"):
        service.evaluate(seller.id, case.number, "like")
    other = service.open_case(seller.id, "advertising", "ads paused again", order_id=None)
    assert other.created is False  # the resolved case is still the active one on this issue


def test_evaluation_window_closes(service: CaseService, clock: ManualClock) -> None:
    _, seller = make_seller(service, "1")
    case = service.open_case(seller.id, "registration", "documents").case
    service.change_status(case.number, "resolved")
    clock.advance(days=4, minutes=1)
    with pytest.raises(EvaluationRefused, match="4 days"):
        service.evaluate(seller.id, case.number, "like")
