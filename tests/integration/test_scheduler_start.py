"""`frontdoor serve`'s scheduler: the APScheduler jobs and the catch-up after a restart."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot import outbox as ob
from bot.clock import ManualClock
from bot.domain import Case
from bot.ports import UnitOfWork
from bot.sweeps import SchedulerConfig, Sweeper
from frontdoor.scheduling import (
    _digest_job,
    _sweep_job,
    build_scheduler,
    build_sweeper,
    run_due_on_start,
)
from frontdoor.settings import Settings
from frontdoor.wiring import Services, build_services
from storage.database import Database
from storage.sweeps import SqlSweepStore
from tests.integration.case_rules_support import outbox
from tests.integration.sweep_support import events, reminders

MONDAY = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)


class UnreachableAtTimes(SqlSweepStore):
    """The sweeps' storage while the database is unreachable (``down``): the digest's read of
    the cases fails, as a dropped connection would."""

    down = False

    def digest_cases(self, uow: UnitOfWork, statuses: Sequence[str]) -> list[Case]:
        if self.down:
            raise ConnectionError("could not connect to the database")
        return super().digest_cases(uow, statuses)


def services_for(db: Database, clock: ManualClock) -> Services:
    settings = Settings(frontdoor_database_url=db.url, slack_bot_token="xoxb-test",
                        slack_support_channel="C_SUPPORT", _env_file=None)  # type: ignore[call-arg]
    return build_services(settings, clock=clock, database=db)


def seed(services: Services) -> tuple[str, str, str]:
    cases = services.cases
    numbers = []
    for i, case_type in enumerate(("payment", "order", "listing")):
        inv = cases.create_invitation(f"S{i}")
        ident, _ = cases.identify("telegram", f"u{i}")
        seller = cases.register(ident.id, inv.code)
        numbers.append(cases.open_case(seller.id, case_type, "help", identity_id=ident.id).case.number)
    cases.change_status(numbers[0], "pending")
    cases.change_status(numbers[2], "pending")
    return numbers[0], numbers[1], numbers[2]


async def test_scheduler_has_the_sweeps_and_the_digest_cron(db: Database) -> None:
    services = services_for(db, ManualClock(MONDAY))
    config = SchedulerConfig(sweep_interval_seconds=30, digest_timezone="Europe/Paris")
    scheduler = build_scheduler(services, config)
    jobs = {job.id: job for job in scheduler.get_jobs()}
    assert set(jobs) == {"sweep.auto_close", "sweep.reminders", "sweep.first_response",
                         "sweep.evaluation", "digest", "digest.catch_up", "prune.web_chat",
                         "prune.claims"}
    for job_id in ("sweep.reminders", "digest.catch_up"):
        interval = jobs[job_id].trigger
        assert isinstance(interval, IntervalTrigger) and interval.interval == timedelta(seconds=30)
    cron = jobs["digest"].trigger
    assert isinstance(cron, CronTrigger) and str(cron.timezone) == "Europe/Paris"
    after = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)  # 11:00 in Paris
    assert cron.get_next_fire_time(None, after) == datetime(2026, 1, 6, 8, 0, tzinfo=UTC)
    assert all(j.max_instances == 1 and j.coalesce for j in jobs.values())
    # It starts on the running loop and stops cleanly (paused: no job runs during the test).
    scheduler.start(paused=True)
    assert scheduler.running
    scheduler.shutdown(wait=False)


async def test_job_functions_run_the_sweeps_and_the_digest(db: Database) -> None:
    clock = ManualClock(MONDAY)
    services = services_for(db, clock)
    pending, _, _ = seed(services)
    sweeper = build_sweeper(services)
    clock.advance(hours=24)
    assert await _sweep_job(sweeper, "reminders") == 2
    assert await _sweep_job(sweeper, "reminders") == 0
    clock.set(datetime(2026, 1, 6, 8, 59, 30, tzinfo=UTC))  # cron woke a hair early
    assert await _digest_job(sweeper) == 1
    clock.set(datetime(2026, 1, 6, 9, 0, 30, tzinfo=UTC))
    assert await _digest_job(sweeper) == 0
    assert len(events(services.uow_factory, services.cases.get_case(pending).case.id,
                      "reminder")) == 1


async def test_restart_catches_up_everything_due_once(db: Database) -> None:
    clock = ManualClock(MONDAY)
    services = services_for(db, clock)
    pending, unanswered, kept = seed(services)
    # The first process starts, runs, and goes down at 08:00 Monday.
    assert await run_due_on_start(services) == {"auto_close": 0, "reminders": 0,
                                                "first_response": 0, "evaluation": 0,
                                                "digest": 0}
    services.cases.keep_open(services.cases.get_case(kept).case.seller_id, kept)

    # Back on Friday 10:00: four days of work fell due while no process ran.
    clock.set(MONDAY + timedelta(days=4, hours=2))
    restarted = services_for(db, clock)
    done = await run_due_on_start(restarted)
    assert done == {"auto_close": 0, "reminders": 2, "first_response": 1, "evaluation": 0,
                    "digest": 1}
    uow_factory = restarted.uow_factory
    # One reminder each (the 72 h one), one breach alert without a stale warning.
    assert len(reminders(uow_factory)) == 2
    unanswered_id = restarted.cases.get_case(unanswered).case.id
    assert [e.kind for e in events(uow_factory, unanswered_id)
            if e.kind.startswith("first_response")] == ["first_response_breach"]
    assert len(outbox(uow_factory, ob.CHANNEL_POST)) == 2  # breach alert + digest

    # Another restart finds nothing left to do.
    assert await run_due_on_start(services_for(db, clock)) == {
        "auto_close": 0, "reminders": 0, "first_response": 0, "evaluation": 0, "digest": 0}

    # Down again until the next Wednesday: the pending case closed on day 7, the kept-open one
    # (deadline moved by a week) is still waiting.
    clock.set(MONDAY + timedelta(days=9))
    done = await run_due_on_start(services_for(db, clock))
    assert done["auto_close"] == 1
    assert services.cases.get_case(pending).case.status == "closed"
    assert services.cases.get_case(kept).case.status == "pending"


async def test_no_catch_up_still_builds_and_starts_the_scheduler(db: Database) -> None:
    # FRONTDOOR_DIGEST_CATCH_UP_HOURS=0 is documented ("never post a missed digest on
    # start"); apscheduler refuses a misfire grace of 0, which used to stop serve at start.
    services = services_for(db, ManualClock(MONDAY))
    scheduler = build_scheduler(services, SchedulerConfig(digest_catch_up_hours=0))
    assert scheduler.get_job("digest").misfire_grace_time == 60
    scheduler.start(paused=True)
    assert scheduler.running
    scheduler.shutdown(wait=False)


async def test_a_digest_whose_run_failed_is_posted_by_a_later_sweep_of_its_day(
        db: Database) -> None:
    clock = ManualClock(MONDAY)
    services = services_for(db, clock)
    store = UnreachableAtTimes()
    sweeper = Sweeper(services.cases, store, build_sweeper(services).config)
    await run_due_on_start(services, sweeper=sweeper)  # the first start: nothing missed
    catch_up = build_scheduler(services, sweeper=sweeper).get_job("digest.catch_up")
    clock.set(MONDAY + timedelta(minutes=30))
    assert await catch_up.func(*catch_up.args) == 0  # Sunday's digest is not run again

    # 09:00: the database is unreachable, and still is a minute later.
    clock.set(MONDAY + timedelta(hours=1))
    store.down = True
    with pytest.raises(ConnectionError):
        await _digest_job(sweeper)
    clock.advance(minutes=1)
    with pytest.raises(ConnectionError):
        await catch_up.func(*catch_up.args)
    assert outbox(services.uow_factory, ob.CHANNEL_POST) == []

    # Back at 09:02: the failed runs did not take the slot, and the next sweep posts it once.
    store.down = False
    clock.advance(minutes=1)
    assert await catch_up.func(*catch_up.args) == 1
    clock.advance(minutes=1)
    assert await catch_up.func(*catch_up.args) == 0
    assert await _digest_job(sweeper) == 0
    assert len(outbox(services.uow_factory, ob.CHANNEL_POST)) == 1
