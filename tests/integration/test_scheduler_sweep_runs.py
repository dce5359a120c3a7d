"""How the scheduler's sweeps run (issue 6), on SQLite and PostgreSQL: a failing case is skipped
and retried without losing anything, the work goes in batches, and every run is recorded."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from bot.cases import CaseService
from bot.clock import ManualClock
from bot.domain import Case
from bot.sweeps import Sweeper
from storage.sweeps import SqlSweepStore
from storage.uow import SqlUnitOfWorkFactory
from tests.integration import sweep_support
from tests.integration.sweep_support import events, new_sweeper, open_case, reminders

# The sweeper over the test's service, shared by the sweep tests.
sweeper = sweep_support.sweeper


# Failures ------------------------------------------------------------------------------------------
def test_a_failing_case_is_skipped_and_retried_and_loses_nothing(
        service: CaseService, sweeper: Sweeper, clock: ManualClock,
        uow_factory: SqlUnitOfWorkFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    cases = [open_case(service, str(i))[1] for i in range(5)]
    for case in cases:
        service.change_status(case.number, "pending")
    clock.advance(hours=24)
    real = service.relay.to_seller
    bad = cases[2].id

    def flaky(uow: Any, case: Case, *args: Any, **kwargs: Any) -> int | None:
        if case.id == bad:
            raise RuntimeError("platform bug")
        return real(uow, case, *args, **kwargs)

    monkeypatch.setattr(service.relay, "to_seller", flaky)
    assert sweeper.remind_pending() == 4
    assert events(uow_factory, bad, "reminder") == []  # its claim was rolled back
    monkeypatch.setattr(service.relay, "to_seller", real)
    assert sweeper.remind_pending() == 1
    assert len(reminders(uow_factory)) == 5
    assert all(len(events(uow_factory, c.id, "reminder")) == 1 for c in cases)


def test_sweeps_work_in_batches(
        service: CaseService, clock: ManualClock, uow_factory: SqlUnitOfWorkFactory) -> None:
    sweeper = new_sweeper(service, batch_size=3)
    cases = [open_case(service, str(i))[1] for i in range(8)]
    for case in cases:
        service.change_status(case.number, "pending")
    clock.advance(days=8)
    assert sweeper.auto_close() == 8
    assert {service.get_case(c.number).case.status for c in cases} == {"closed"}


def test_job_runs_are_recorded(service: CaseService, sweeper: Sweeper,
                               clock: ManualClock, uow_factory: SqlUnitOfWorkFactory) -> None:
    sweeper.run_sweeps()
    with uow_factory() as uow:
        runs = SqlSweepStore().job_runs(uow)
    assert set(runs) == {"sweep.auto_close", "sweep.reminders", "sweep.first_response",
                         "sweep.evaluation"}
    assert all(r["last_run_at"] == clock.now() for r in runs.values())
    assert datetime(2026, 1, 5, 9, 0, tzinfo=UTC) == clock.now()
