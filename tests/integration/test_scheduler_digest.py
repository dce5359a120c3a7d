"""The daily digest: one Slack message per channel, once per slot, across processes."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from bot.cases import CaseRules, CaseService
from bot.clock import ManualClock
from bot.relay import Relay, RelayConfig
from bot.sweeps import SchedulerConfig, Sweeper
from storage.sweeps import SqlSweepStore
from storage.uow import SqlUnitOfWorkFactory
from tests.integration.sweep_support import channel_posts, open_case
from tests.integration.test_concurrency import run_together

# 09:00 in London on a winter day is 09:00 UTC.
NINE = datetime(2026, 1, 6, 9, 0, tzinfo=UTC)
CHANNELS = {"payment": "C_PAY", "order": "C_ORDERS"}


def make(uow_factory: SqlUnitOfWorkFactory, clock: ManualClock,
         destination: str | None = "slack") -> tuple[CaseService, Sweeper]:
    relay = Relay(RelayConfig(agents_destination=destination,
                              channel_for=lambda ct: CHANNELS.get(ct or "", "C_SUPPORT")))
    service = CaseService(uow_factory, relay, CaseRules(), clock)
    return service, Sweeper(service, SqlSweepStore(), SchedulerConfig())


def test_digest_lists_open_overdue_and_pending_per_channel(
        uow_factory: SqlUnitOfWorkFactory, clock: ManualClock) -> None:
    service, sweeper = make(uow_factory, clock)
    clock.set(NINE - timedelta(hours=30))
    _, overdue = open_case(service, "1", "payment")
    with uow_factory() as uow:  # its parent was posted in the payments channel
        uow.threads.add(overdue.id, "slack", "C_PAY", "1700000000.000100")
        uow.commit()
    clock.set(NINE - timedelta(hours=2))
    _, fresh = open_case(service, "2", "payment", urgent=True)
    _, pending = open_case(service, "3", "order")
    service.change_status(pending.number, "pending")
    _, done = open_case(service, "4", "payment")
    service.change_status(done.number, "resolved")
    clock.set(NINE)

    posts = sweeper.digest()
    by_channel = {p["channel"]: p for p in channel_posts(uow_factory)}
    assert posts == len(by_channel) == 3  # every configured channel, even an empty one
    pay = by_channel["C_PAY"]
    assert pay["text"].startswith("📋 Daily digest Tue 06 Jan 2026: 1 open, 1 overdue, 0 waiting")
    overdue_block, open_block, pending_block = (b["text"]["text"] for b in pay["blocks"][1:4])
    assert f"<https://slack.com/archives/C_PAY/p1700000000000100|{overdue.number}>" in overdue_block
    assert fresh.number in open_block and "🚨" in open_block
    assert pending_block.endswith("_none_")
    assert done.number not in str(pay)
    assert pending.number in by_channel["C_ORDERS"]["blocks"][3]["text"]["text"]
    assert "0 open, 0 overdue, 0 waiting" in by_channel["C_SUPPORT"]["text"]


def test_digest_is_posted_once_per_slot(uow_factory: SqlUnitOfWorkFactory,
                                        clock: ManualClock) -> None:
    _, sweeper = make(uow_factory, clock)
    clock.set(NINE)
    assert sweeper.digest() == 3
    clock.set(NINE + timedelta(hours=3))
    assert sweeper.digest() == 0  # same slot (09:00 today)
    clock.set(NINE + timedelta(days=1))
    assert sweeper.digest() == 3
    assert len(channel_posts(uow_factory)) == 6


def test_simultaneous_digests_in_several_processes_post_once(
        uow_factory: SqlUnitOfWorkFactory, clock: ManualClock) -> None:
    clock.set(NINE)
    sweepers = [make(uow_factory, clock)[1] for _ in range(4)]
    results = run_together(4, lambda i: sweepers[i].digest())
    assert sorted(results) == [0, 0, 0, 3]
    assert len(channel_posts(uow_factory)) == 3


def test_no_digest_without_an_agents_platform(uow_factory: SqlUnitOfWorkFactory,
                                              clock: ManualClock) -> None:
    _, sweeper = make(uow_factory, clock, destination=None)
    clock.set(NINE)
    assert sweeper.digest() == 0
    assert channel_posts(uow_factory) == []


def test_missed_digest_runs_once_on_start(uow_factory: SqlUnitOfWorkFactory,
                                          clock: ManualClock) -> None:
    _, sweeper = make(uow_factory, clock)
    clock.set(NINE - timedelta(hours=1))
    # The very first start: nothing was missed, yesterday's slot is only recorded.
    assert sweeper.digest(catch_up=True) == 0
    # Down from 08:00 to 11:00: today's 09:00 digest is posted on start, once.
    clock.set(NINE + timedelta(hours=2))
    assert sweeper.digest(catch_up=True) == 3
    assert sweeper.digest(catch_up=True) == 0
    # Down for two days: one digest (the latest slot), not one per missed day.
    clock.set(NINE + timedelta(days=2, hours=1))
    assert sweeper.digest(catch_up=True) == 3
    # Down from 08:00 to 22:00: today's digest is late, not lost.
    clock.set(NINE + timedelta(days=3, hours=13))
    assert sweeper.digest(catch_up=True) == 3
    assert sweeper.digest(catch_up=True) == 0
    assert len(channel_posts(uow_factory)) == 9


def test_catch_up_limit_can_drop_stale_digests(uow_factory: SqlUnitOfWorkFactory,
                                               clock: ManualClock) -> None:
    _, sweeper = make(uow_factory, clock)
    sweeper.config = replace(sweeper.config, digest_catch_up_hours=12)
    clock.set(NINE - timedelta(hours=1))
    assert sweeper.digest(catch_up=True) == 0
    # An operator who set a 12 h limit: a 13 h old slot waits for the next scheduled one.
    clock.set(NINE + timedelta(hours=13))
    assert sweeper.digest(catch_up=True) == 0
    assert channel_posts(uow_factory) == []


def test_digest_follows_local_time_in_summer(uow_factory: SqlUnitOfWorkFactory,
                                             clock: ManualClock) -> None:
    _, sweeper = make(uow_factory, clock)
    summer_nine = datetime(2026, 7, 1, 8, 0, tzinfo=UTC)  # 09:00 BST
    assert sweeper.digest_slot(summer_nine) == summer_nine
    assert sweeper.digest_slot(summer_nine - timedelta(minutes=1)) == summer_nine - timedelta(days=1)
