"""Rule 1 and case numbering under real concurrency (threads with their own connections)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

from bot.cases import CaseRules, CaseService, OpenCaseResult
from bot.clock import ManualClock
from storage.uow import SqlUnitOfWorkFactory
from tests.integration.case_rules_support import make_seller

T = TypeVar("T")
ORDER = "123-1234567-1234567"


def run_together(n: int, task: Callable[[int], T]) -> list[T]:
    """Run ``task(i)`` in ``n`` threads released at the same instant; re-raise any error."""
    barrier = threading.Barrier(n)
    results: list[T | None] = [None] * n
    errors: list[BaseException] = []

    def worker(i: int) -> None:
        try:
            barrier.wait()
            results[i] = task(i)
        except BaseException as exc:  # noqa: BLE001 - collected and re-raised below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    if errors:
        raise errors[0]
    return [r for r in results if r is not None]


def test_twenty_simultaneous_opens_make_one_case(uow_factory: SqlUnitOfWorkFactory,
                                                 clock: ManualClock) -> None:
    service = CaseService(uow_factory, rules=CaseRules(daily_case_cap=100), clock=clock)
    _, seller = make_seller(service, "1")
    results: list[OpenCaseResult] = run_together(
        20, lambda i: service.open_case(seller.id, "order", f"late #{i}", order_id=ORDER))
    assert len(results) == 20
    assert sum(r.created for r in results) == 1
    assert {r.case.number for r in results} == {"CX-000001"}
    assert len(service.search_cases("all")) == 1


def test_simultaneous_different_issues_get_gapless_unique_numbers(
        uow_factory: SqlUnitOfWorkFactory, clock: ManualClock) -> None:
    service = CaseService(uow_factory, rules=CaseRules(daily_case_cap=100), clock=clock)
    sellers = [make_seller(service, str(i), f"S{i}")[1] for i in range(20)]
    results = run_together(
        20, lambda i: service.open_case(sellers[i].id, "payment", "payout missing"))
    numbers = sorted(r.case.number for r in results)
    assert numbers == [f"CX-{i:06d}" for i in range(1, 21)]
