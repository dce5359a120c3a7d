"""Retention of web chat lines (FRONTDOOR_WEB_CHAT_RETENTION_DAYS, bot.web_chat.WebChatRetention)
on both databases: lines older than the setting go, oldest first, in bounded batches (a run
stops after its batches and the next run goes on); newer lines stay; the delete reads the
``created_at`` index, not the table; the scheduler runs it hourly unless the setting is 0."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from bot.web_chat import WebChatRetention
from frontdoor.portal_channels import prune_web_chat, web_chat_retention
from frontdoor.scheduling import WEB_CHAT_RETENTION_JOB_ID, build_scheduler
from frontdoor.settings import Settings
from frontdoor.wiring import build_services
from storage.database import Database
from storage.models import WebChatLineRow
from storage.web_chat_store import SqlWebChatStore, oldest_before
from tests.integration.query_plans import assert_reads_index, plan_of

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def remaining(db: Database) -> list[str]:
    with db.sessions() as session:
        return [str(p["text"]) for p in session.scalars(
            select(WebChatLineRow.payload).order_by(WebChatLineRow.id))]


def test_old_lines_go_oldest_first_in_bounded_batches(db: Database) -> None:
    store = SqlWebChatStore(db)
    outbox_ids = iter(range(1, 100))
    # Two chats; ages in days, written out of order so ids do not give the age away.
    for age in (120, 91, 5, 200, 95, 89, 0, 100, 150):
        for address in ("seller-1", "seller-2"):
            store.add_bot_line(next(outbox_ids), address, {"text": f"{address} {age}d"},
                               NOW - timedelta(days=age))
    store.add_seller_line("seller-1", "client-typed-1", {"text": "seller-1 typed 300d"},
                          NOW - timedelta(days=300))
    retention = WebChatRetention(store, timedelta(days=90), batch=3, max_batches=2)

    assert retention.run(NOW) == 6  # two batches of three, then it stops for this run
    left = remaining(db)
    # The oldest went first: the typed line (300 days), both 200s, both 150s, one 120.
    for gone in ("seller-1 typed 300d", "seller-1 200d", "seller-2 200d", "seller-1 150d",
                 "seller-2 150d"):
        assert gone not in left
    assert len([x for x in left if x.endswith(" 120d")]) == 1

    assert retention.run(NOW) == 6  # the next run goes on: one 120, both 100s, 95s, one 91
    assert retention.run(NOW) == 1  # the last 91: fewer than a batch, so the run ends
    assert retention.run(NOW) == 0
    assert sorted(remaining(db)) == sorted(
        f"{a} {age}d" for a in ("seller-1", "seller-2") for age in (89, 5, 0))
    # The chats still read as before.
    assert [line.payload["text"] for line in store.last_lines("seller-2", 10)] == [
        "seller-2 5d", "seller-2 89d", "seller-2 0d"]


def test_the_delete_reads_the_created_at_index(db: Database) -> None:
    plan = plan_of(db, oldest_before(NOW, 1000), forbid_bitmap=True)
    assert_reads_index(plan, "ix_web_chat_lines_created_at", "web_chat_lines",
                       sorted_by_index=True)


def test_the_scheduler_prunes_hourly_unless_the_setting_is_zero(
        sqlite_db: Database, caplog: pytest.LogCaptureFixture) -> None:
    def settings(days: float) -> Settings:
        return Settings(_env_file=None, frontdoor_database_url=sqlite_db.url,  # type: ignore[call-arg]
                        frontdoor_web_chat_retention_days=days)

    services = build_services(settings(90), database=sqlite_db)
    job = build_scheduler(services).get_job(WEB_CHAT_RETENTION_JOB_ID)
    assert job is not None and job.trigger.interval == timedelta(hours=1)
    off = build_services(settings(0), database=sqlite_db)
    assert web_chat_retention(off) is None
    assert build_scheduler(off).get_job(WEB_CHAT_RETENTION_JOB_ID) is None

    # The job's run: the services' clock decides what is old; it says what it deleted.
    store = SqlWebChatStore(sqlite_db)
    now = services.clock.now()
    store.add_bot_line(1, "seller-1", {"text": "old"}, now - timedelta(days=91))
    store.add_bot_line(2, "seller-1", {"text": "kept"}, now - timedelta(days=89))
    retention = web_chat_retention(services)
    assert retention is not None and retention.keep == timedelta(days=90)
    caplog.set_level(logging.INFO, logger="frontdoor.portal_channels")
    assert prune_web_chat(retention, services) == 1
    assert remaining(sqlite_db) == ["kept"]
    assert "web chat retention: deleted 1 lines" in caplog.text
