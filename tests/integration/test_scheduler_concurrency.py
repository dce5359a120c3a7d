"""Several sweepers on one database act on each case exactly once (real concurrency).

Threads have their own connections; on PostgreSQL the claims skip rows another sweeper holds
(``FOR UPDATE SKIP LOCKED``), on SQLite write transactions serialize. One test runs the sweeps
in separate processes on PostgreSQL, as several ``frontdoor serve`` would.
"""

from __future__ import annotations

import multiprocessing
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from bot import outbox as ob
from bot.cases import CaseRules, CaseService
from bot.clock import ManualClock
from bot.relay import Relay, RelayConfig
from bot.sweeps import SchedulerConfig, Sweeper
from storage.database import Database
from storage.models import CaseEventRow
from storage.sweeps import SqlSweepStore
from storage.uow import SqlUnitOfWorkFactory
from tests.integration.case_rules_support import outbox
from tests.integration.test_concurrency import run_together

N_CASES = 60


def relay() -> Relay:
    return Relay(RelayConfig(agents_destination="slack", channel_for=lambda _t: "C_SUPPORT"))


def seed(service: CaseService, n: int = N_CASES) -> list[str]:
    """``n`` sellers with one case each: half pending, half waiting for a first response."""
    numbers = []
    for i in range(n):
        inv = service.create_invitation(f"S{i}")
        ident, _ = service.identify("telegram", f"u{i}")
        seller = service.register(ident.id, inv.code)
        case = service.open_case(seller.id, "payment", "payout missing", identity_id=ident.id).case
        if i % 2 == 0:
            service.change_status(case.number, "pending")
        numbers.append(case.number)
    return numbers


def event_counts(uow_factory: SqlUnitOfWorkFactory) -> Counter[tuple[int, str]]:
    with uow_factory() as uow:
        rows = uow.session.execute(select(CaseEventRow.case_id, CaseEventRow.kind)).all()
    return Counter((case_id, kind) for case_id, kind in rows)


def test_concurrent_sweepers_send_each_reminder_and_alert_once(
        uow_factory: SqlUnitOfWorkFactory, clock: ManualClock) -> None:
    service = CaseService(uow_factory, relay(), CaseRules(), clock)
    seed(service)
    clock.advance(hours=25)  # pending: reminder 1 due; others: first response breached
    # Small batches make the sweepers interleave many claims.
    sweepers = [Sweeper(CaseService(uow_factory, relay(), CaseRules(), clock), SqlSweepStore(),
                        SchedulerConfig(batch_size=4)) for _ in range(4)]
    results = run_together(4, lambda i: sweepers[i].run_sweeps())
    assert sum(r["reminders"] for r in results) == N_CASES // 2
    assert sum(r["first_response"] for r in results) == N_CASES // 2
    counts = event_counts(uow_factory)
    assert Counter(kind for (_, kind), n in counts.items() if kind == "reminder") == {
        "reminder": N_CASES // 2}
    assert all(n == 1 for (_, kind), n in counts.items()
               if kind in ("reminder", "first_response_breach"))
    reminders = [r for r in outbox(uow_factory, ob.SELLER_MESSAGE)
                 if r.payload["reply"]["text"].startswith("⏰")]
    assert len(reminders) == N_CASES // 2
    assert len({r.case_id for r in reminders}) == N_CASES // 2
    assert len(outbox(uow_factory, ob.CHANNEL_POST)) == N_CASES // 2


def test_concurrent_sweepers_auto_close_each_case_once(
        uow_factory: SqlUnitOfWorkFactory, clock: ManualClock) -> None:
    service = CaseService(uow_factory, relay(), CaseRules(), clock)
    seed(service)
    clock.advance(days=8)
    sweepers = [Sweeper(CaseService(uow_factory, relay(), CaseRules(), clock), SqlSweepStore(),
                        SchedulerConfig(batch_size=3)) for _ in range(4)]
    results = run_together(4, lambda i: sweepers[i].auto_close())
    assert sum(results) == N_CASES // 2
    counts = event_counts(uow_factory)
    closes = [n for (_, kind), n in counts.items() if kind == "status"]
    assert sum(closes) == N_CASES // 2 * 2  # pending + closed for each pending case
    assert all(n <= 2 for n in closes)


def _sweep_in_process(url: str, now_iso: str, queue: multiprocessing.Queue[int],
                      barrier: Any) -> None:
    """One ``frontdoor serve``'s sweeps: its own interpreter, engine and connections."""
    clock = ManualClock(datetime.fromisoformat(now_iso))
    database = Database(url)
    factory = SqlUnitOfWorkFactory(database, "CX")
    sweeper = Sweeper(CaseService(factory, relay(), CaseRules(), clock), SqlSweepStore(),
                      SchedulerConfig(batch_size=2))
    barrier.wait(timeout=60)  # start sweeping together
    queue.put(sweeper.remind_pending())
    database.dispose()


def test_two_processes_on_postgres_send_each_reminder_once(postgres_url: str) -> None:
    database = Database(postgres_url)
    from tests.conftest import _truncate_all

    _truncate_all(database)
    clock = ManualClock()
    factory = SqlUnitOfWorkFactory(database, "CX")
    seed(CaseService(factory, relay(), CaseRules(), clock), 80)
    now = clock.now() + timedelta(hours=73)
    ctx = multiprocessing.get_context("spawn")
    queue: multiprocessing.Queue[int] = ctx.Queue()
    barrier = ctx.Barrier(2)
    procs = [ctx.Process(target=_sweep_in_process,
                         args=(postgres_url, now.isoformat(), queue, barrier))
             for _ in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=120)
        assert p.exitcode == 0
    sent = [queue.get(timeout=5) for _ in procs]
    assert sum(sent) == 40
    counts = event_counts(factory)
    assert sorted(n for (_, kind), n in counts.items() if kind == "reminder") == [1] * 40
    database.dispose()
