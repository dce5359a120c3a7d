"""The scheduler of `frontdoor serve`: APScheduler 3.x jobs that run the sweeps of `bot.sweeps`.

The jobs hold no state: every run claims what is due in the database, so any number of
processes may run this scheduler on one PostgreSQL, and a process that was down catches up
with ``run_due_on_start`` (and its first sweeps) when it comes back.

In `frontdoor serve`, inside the running event loop::

    scheduler = await start_scheduler(services, settings)
    ...
    scheduler.shutdown(wait=False)
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot.claim_retention import ClaimRetention
from bot.sweeps import SWEEPS, SchedulerConfig, Sweeper
from frontdoor.portal_channels import email_sweep, prune_web_chat, web_chat_retention
from frontdoor.settings import Settings
from frontdoor.wiring import Services
from storage.claim_retention import SqlDoneClaims
from storage.sweeps import SqlSweepStore

log = logging.getLogger(__name__)

DIGEST_JOB_ID = "digest"
DIGEST_CATCH_UP_JOB_ID = "digest.catch_up"
WEB_CHAT_RETENTION_JOB_ID = "prune.web_chat"
CLAIM_RETENTION_JOB_ID = "prune.claims"
# A cron wake-up a hair before the minute must still count as that slot.
_SLOT_TOLERANCE = timedelta(seconds=60)
_LATE_DIGEST_GRACE_SECONDS = 60
# A job runs once at a time per process; runs missed while busy collapse into one.
_ONE_AT_A_TIME: dict[str, Any] = {"max_instances": 1, "coalesce": True,
                                  "misfire_grace_time": None, "replace_existing": True}


def scheduler_config(settings: object | None) -> SchedulerConfig:
    """A ``SchedulerConfig`` as given, or read from ``Settings`` (defaults for what is unset)."""
    if isinstance(settings, SchedulerConfig):
        return settings
    if isinstance(settings, Settings):
        settings = settings.by_variable_name()  # from_settings reads the variables' names
    return SchedulerConfig.from_settings(settings) if settings is not None else SchedulerConfig()


def build_sweeper(services: Services, settings: object | None = None) -> Sweeper:
    """The sweeps over ``services``' database, rules, relay and clock."""
    config = scheduler_config(settings if settings is not None else services.settings)
    return Sweeper(services.cases, SqlSweepStore(), config)


async def _sweep_job(sweeper: Sweeper, name: str) -> int:
    # Database work runs in a worker thread: the event loop keeps serving webhooks.
    return await asyncio.to_thread(sweeper.run_sweep, name)


async def _digest_job(sweeper: Sweeper) -> int:
    now = sweeper.clock.now()
    slot = sweeper.digest_slot(now, _SLOT_TOLERANCE)
    return await asyncio.to_thread(sweeper.digest, now, slot)


async def _digest_catch_up_job(sweeper: Sweeper) -> int:
    # The latest digest if no process posted it (its cron run failed, say the database was
    # unavailable at 09:00) and it is not stale; the slot's claim keeps it to one post.
    return await asyncio.to_thread(sweeper.digest, None, None, True)


def build_scheduler(services: Services, settings: object | None = None,
                    sweeper: Sweeper | None = None) -> AsyncIOScheduler:
    """An (unstarted) AsyncIOScheduler with one interval job per sweep, the digest cron and
    the digest's catch-up on the sweeps' interval.

    ``settings``: a ``frontdoor.settings.Settings`` or a ``SchedulerConfig`` (default: the
    services' settings). Start it with ``scheduler.start()`` inside the running loop.
    """
    sweeper = sweeper or build_sweeper(services, settings)
    config = sweeper.config
    zone = ZoneInfo(config.digest_timezone)
    scheduler = AsyncIOScheduler(timezone=zone)
    every = IntervalTrigger(seconds=config.sweep_interval_seconds, timezone=zone)
    for name in SWEEPS:
        scheduler.add_job(
            _sweep_job, every, args=(sweeper, name), id=f"sweep.{name}", name=f"sweep {name}",
            # One run at a time per process; runs missed while the loop was busy collapse
            # into one (the sweep catches up on everything due anyway).
            max_instances=1, coalesce=True, misfire_grace_time=None, replace_existing=True,
        )
    email = email_sweep(services)
    if email is not None:
        # Unread replies and evaluation invitations by email, on the sweeps' interval.
        scheduler.add_job(
            asyncio.to_thread, every, args=(email.run,), id="sweep.email", name="sweep email",
            max_instances=1, coalesce=True, misfire_grace_time=None, replace_existing=True)
    # Retention jobs delete in bounded batches: hourly is plenty for horizons of days.
    retention = web_chat_retention(services)
    if retention is not None:
        scheduler.add_job(
            asyncio.to_thread, IntervalTrigger(hours=1, timezone=zone),
            args=(prune_web_chat, retention, services), id=WEB_CHAT_RETENTION_JOB_ID,
            name="web chat retention", **_ONE_AT_A_TIME)
    claims = claim_retention(services)
    if claims is not None:
        scheduler.add_job(
            asyncio.to_thread, IntervalTrigger(hours=1, timezone=zone),
            args=(prune_claims, claims, services), id=CLAIM_RETENTION_JOB_ID,
            name="claim retention", **_ONE_AT_A_TIME)
    scheduler.add_job(
        _digest_job,
        CronTrigger(hour=config.digest_time.hour, minute=config.digest_time.minute, timezone=zone),
        args=(sweeper,), id=DIGEST_JOB_ID, name="daily digest", max_instances=1, coalesce=True,
        # A digest fired late by a busy loop still goes out; with no catch-up on start (0 h)
        # apscheduler still needs a grace of at least a second.
        misfire_grace_time=max(_LATE_DIGEST_GRACE_SECONDS,
                               int(config.digest_catch_up_hours * 3600)),
        replace_existing=True,
    )
    # A failed digest run rolled back its claim: it is tried again on the sweeps' interval.
    scheduler.add_job(
        _digest_catch_up_job, every, args=(sweeper,), id=DIGEST_CATCH_UP_JOB_ID,
        name="digest catch-up", **_ONE_AT_A_TIME)
    return scheduler


def claim_retention(services: Services) -> ClaimRetention | None:
    """The scheduler's forgetting of old inbound claims (FRONTDOOR_CLAIM_RETENTION_DAYS; 0:
    kept for ever)."""
    days = services.settings.frontdoor_claim_retention_days
    if days <= 0:
        return None
    return ClaimRetention(SqlDoneClaims(services.database), timedelta(days=days))


def prune_claims(retention: ClaimRetention, services: Services) -> int:
    """One run of the claim retention job (in a worker thread); logged when it deleted."""
    deleted = retention.run(services.clock.now())
    if deleted:
        log.info("claim retention: forgot %d claims older than %s", deleted, retention.keep)
    return deleted


async def run_due_on_start(services: Services, settings: object | None = None,
                           sweeper: Sweeper | None = None) -> dict[str, Any]:
    """Run everything due once: all sweeps (whatever fell due while no process ran) and the
    latest digest if no process posted it. Returns what was done, for the start-up log."""
    sweeper = sweeper or build_sweeper(services, settings)
    done: dict[str, Any] = dict(await asyncio.to_thread(sweeper.run_sweeps))
    done["digest"] = await asyncio.to_thread(sweeper.digest, None, None, True)
    log.info("scheduler catch-up on start: %s", done)
    return done


async def start_scheduler(services: Services, settings: object | None = None) -> AsyncIOScheduler:
    """Catch up, then start the scheduler on the running loop (what `frontdoor serve` calls).

    A failing catch-up (database briefly unavailable) is logged and the scheduler starts
    anyway: its first sweeps find the same due work.
    """
    sweeper = build_sweeper(services, settings)
    try:
        await run_due_on_start(services, sweeper=sweeper)
    except Exception:
        log.exception("scheduler catch-up on start failed; the interval sweeps will retry")
    scheduler = build_scheduler(services, sweeper=sweeper)
    scheduler.start()
    return scheduler
