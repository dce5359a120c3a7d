"""Forgetting old inbound claims (FRONTDOOR_CLAIM_RETENTION_DAYS, bot.claim_retention) on both
databases: done claims older than the setting go, oldest first, in bounded batches; claims
still held and newer ones stay; the delete reads the created_at index; the scheduler runs it
hourly unless the setting is 0; the setting outlives the web chat recovery's look-back."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError
from sqlalchemy import select

from adapters.web.chat_recovery import RECOVERY_GRACE
from bot.claim_retention import ClaimRetention
from bot.web_chat import RECOVERY_MAX_AGE
from frontdoor.scheduling import CLAIM_RETENTION_JOB_ID, build_scheduler, claim_retention, prune_claims
from frontdoor.settings import Settings
from frontdoor.wiring import build_services
from storage.claim_retention import SqlDoneClaims, oldest_done_before
from storage.database import Database
from storage.models import ProcessedEventRow
from storage.web_chat_store import SqlWebChatStore
from tests.integration.query_plans import assert_reads_index, plan_of

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def add_claim(db: Database, event_id: str, age_days: float, held: bool = False) -> None:
    made = NOW - timedelta(days=age_days)
    with db.sessions() as session, session.begin():
        session.add(ProcessedEventRow(
            source="telegram", event_id=event_id, created_at=made,
            lease_until=made + timedelta(minutes=5) if held else None,
            owner="proc-1" if held else None, work_done=not held))


def left(db: Database) -> list[str]:
    with db.sessions() as session:
        return sorted(session.scalars(select(ProcessedEventRow.event_id)))


def test_old_done_claims_go_oldest_first_in_bounded_batches(db: Database) -> None:
    # Written out of order, so ids do not give the age away.
    for age in (30, 8, 1, 60, 10, 6, 0, 9, 20):
        add_claim(db, f"done-{age}d", age)
    add_claim(db, "held-40d", 40, held=True)  # its process died: a redelivery takes it over
    retention = ClaimRetention(SqlDoneClaims(db), timedelta(days=7), batch=2, max_batches=2)

    assert retention.run(NOW) == 4  # two batches of two, then it stops for this run
    assert "done-60d" not in left(db) and "done-30d" not in left(db)
    assert "done-20d" not in left(db) and "done-10d" not in left(db)
    assert retention.run(NOW) == 2  # the next run goes on: 9 and 8 days
    assert retention.run(NOW) == 0
    assert left(db) == sorted(["done-0d", "done-1d", "done-6d", "held-40d"])


def test_the_delete_reads_the_created_at_index(db: Database) -> None:
    plan = plan_of(db, oldest_done_before(NOW, 5000), forbid_bitmap=True)
    assert_reads_index(plan, "ix_processed_events_created_at", "processed_events",
                       sorted_by_index=True)


def test_the_scheduler_forgets_claims_hourly_unless_the_setting_is_zero(
        sqlite_db: Database, caplog: pytest.LogCaptureFixture) -> None:
    def settings(days: float) -> Settings:
        return Settings(_env_file=None, frontdoor_database_url=sqlite_db.url,  # type: ignore[call-arg]
                        frontdoor_claim_retention_days=days)

    services = build_services(settings(7), database=sqlite_db)
    job = build_scheduler(services).get_job(CLAIM_RETENTION_JOB_ID)
    assert job is not None and job.trigger.interval == timedelta(hours=1)
    off = build_services(settings(0), database=sqlite_db)
    assert claim_retention(off) is None
    assert build_scheduler(off).get_job(CLAIM_RETENTION_JOB_ID) is None

    retention = claim_retention(services)
    assert retention is not None and retention.keep == timedelta(days=7)
    now = services.clock.now()
    add_claim(sqlite_db, "old", (NOW - now).total_seconds() / 86400 + 8)
    add_claim(sqlite_db, "new", (NOW - now).total_seconds() / 86400 + 6)
    caplog.set_level(logging.INFO, logger="frontdoor.scheduling")
    assert prune_claims(retention, services) == 1
    assert left(sqlite_db) == ["new"]
    assert "claim retention: forgot 1 claims" in caplog.text


def test_a_retention_shorter_than_the_web_chat_recoverys_look_back_is_refused() -> None:
    def settings(days: float) -> Settings:
        return Settings(_env_file=None, frontdoor_claim_retention_days=days)  # type: ignore[call-arg]

    with pytest.raises(ValidationError, match="FRONTDOOR_CLAIM_RETENTION_DAYS=0.5 is shorter "
                                              "than the 1 day"):
        settings(0.5)
    assert settings(1).frontdoor_claim_retention_days == 1
    assert settings(0).frontdoor_claim_retention_days == 0  # never forget


def test_the_shortest_retention_leaves_a_processed_web_chat_line_processed(db: Database) -> None:
    store = SqlWebChatStore(db)
    written = NOW - timedelta(hours=23)
    assert store.add_seller_line("seller-1", "c-1", {"text": "refund please"}, written)
    with db.sessions() as session, session.begin():  # the engine processed it: a done claim
        session.add(ProcessedEventRow(source="web", event_id="web-c-1", created_at=written,
                                      lease_until=None, owner=None, work_done=True))
    shortest = Settings(_env_file=None,  # type: ignore[call-arg]
                        frontdoor_claim_retention_days=RECOVERY_MAX_AGE / timedelta(days=1))
    keep = timedelta(days=shortest.frontdoor_claim_retention_days)

    assert ClaimRetention(SqlDoneClaims(db), keep).run(NOW) == 0
    assert store.unprocessed_seller_lines(NOW - RECOVERY_GRACE, NOW - RECOVERY_MAX_AGE, 100) == []
