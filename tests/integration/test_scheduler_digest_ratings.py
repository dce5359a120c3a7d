"""Issue 11: the sellers' ratings as counts in the daily digest, per channel: each level, the
reasons of the lower ones, and those cases listed with their reason; a rating is counted in
the digest after it was given, and only in that one (SQLite and PostgreSQL)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from bot.cases import CaseService
from bot.clock import ManualClock
from bot.sweeps import Sweeper
from storage.uow import SqlUnitOfWorkFactory
from tests.integration.sweep_support import channel_posts, open_case
from tests.integration.test_scheduler_digest import make

# 09:00 in London on a winter day is 09:00 UTC.
NINE = datetime(2026, 1, 6, 9, 0, tzinfo=UTC)


def rated(service: CaseService, user: str, case_type: str, level: str,
          reason_code: str | None = None, words: str | None = None) -> str:
    seller_id, case = open_case(service, user, case_type)
    service.change_status(case.number, "resolved")
    service.evaluate(seller_id, case.number, level)
    if reason_code:
        service.give_reason(seller_id, case.number, reason_code, words)
    return f"{case.number} {case.title}"  # as the digest lists it


def ratings_block(sweeper: Sweeper, uow_factory: SqlUnitOfWorkFactory,
                  channel: str) -> str:
    posts = {p["channel"]: p for p in channel_posts(uow_factory)}
    blocks = posts[channel]["blocks"]
    text = str(blocks[-1]["text"]["text"])
    assert text.startswith("*⭐ Ratings since")
    return text


def test_ratings_are_counted_per_channel_with_reasons(
        uow_factory: SqlUnitOfWorkFactory, clock: ManualClock) -> None:
    service, sweeper = make(uow_factory, clock)
    clock.set(NINE - timedelta(hours=20))
    rated(service, "1", "payment", "like")
    rated(service, "2", "payment", "like")
    slow = rated(service, "3", "payment", "so_so", "slow_reply")
    other = rated(service, "4", "payment", "disappointing", "other",
                  "the agent kept asking for the same screenshots")
    skipped = rated(service, "5", "payment", "so_so")  # reason skipped
    order_case = rated(service, "6", "order", "disappointing", "unfriendly")
    clock.set(NINE)

    assert sweeper.digest() == 3
    pay = ratings_block(sweeper, uow_factory, "C_PAY")
    lines = pay.split("\n")
    assert lines[0] == "*⭐ Ratings since 05 Jan 09:00: 5*"
    assert lines[1] == "2 Worthy of a Like · 2 So-so · 1 Very Disappointing"
    assert lines[2] == "Reasons: Slow reply 1 · Other 1 · no reason given 1"
    assert lines[3] == f"• {slow}: So-so — Slow reply"
    assert lines[4] == (f"• {other}: Very Disappointing — Other (“the agent kept "
                        "asking for the same screenshots”)")
    assert lines[5] == f"• {skipped}: So-so"
    assert len(lines) == 6  # Likes are counted, not listed
    orders = ratings_block(sweeper, uow_factory, "C_ORDERS")
    assert "0 Worthy of a Like · 0 So-so · 1 Very Disappointing" in orders
    assert f"{order_case}: Very Disappointing — Unfriendly" in orders
    assert ratings_block(sweeper, uow_factory, "C_SUPPORT").endswith(": 0*\n_none_")


def test_a_rating_is_counted_in_one_digest_only(
        uow_factory: SqlUnitOfWorkFactory, clock: ManualClock) -> None:
    service, sweeper = make(uow_factory, clock)
    clock.set(NINE - timedelta(days=2))
    rated(service, "1", "payment", "so_so", "unclear_answer")  # before yesterday's digest
    clock.set(NINE - timedelta(hours=1))
    rated(service, "2", "payment", "like")
    clock.set(NINE + timedelta(minutes=5))
    rated(service, "3", "payment", "disappointing")  # after today's slot: tomorrow's
    clock.set(NINE + timedelta(minutes=10))

    assert sweeper.digest() == 3
    today = ratings_block(sweeper, uow_factory, "C_PAY")
    assert today.startswith("*⭐ Ratings since 05 Jan 09:00: 1*\n1 Worthy of a Like · 0 So-so ·")
    assert "Unclear answer" not in today

    clock.set(NINE + timedelta(days=1))
    assert sweeper.digest() == 3
    tomorrow = [p for p in channel_posts(uow_factory) if p["channel"] == "C_PAY"][-1]
    text = tomorrow["blocks"][-1]["text"]["text"]
    assert text.startswith("*⭐ Ratings since 06 Jan 09:00: 1*\n0 Worthy of a Like · 0 So-so · "
                           "1 Very Disappointing\nReasons: no reason given 1")


def test_many_lower_ratings_are_cut_with_a_count(
        uow_factory: SqlUnitOfWorkFactory, clock: ManualClock) -> None:
    service, sweeper = make(uow_factory, clock)
    clock.set(NINE - timedelta(hours=3))
    for n in range(18):
        rated(service, str(n), "payment", "so_so", "problem_not_solved")
    clock.set(NINE)
    sweeper.digest()
    text = ratings_block(sweeper, uow_factory, "C_PAY")
    assert "Reasons: Problem not solved 18" in text
    assert text.count("\n• ") == 15  # FRONTDOOR_DIGEST_MAX_ITEMS
    assert text.endswith("…and 3 more")


def test_ratings_of_a_missed_digest_are_counted_in_the_next_one(
        uow_factory: SqlUnitOfWorkFactory, clock: ManualClock) -> None:
    service, sweeper = make(uow_factory, clock)
    clock.set(NINE - timedelta(days=2))
    assert sweeper.digest() == 3  # Sunday's digest went out
    clock.set(NINE - timedelta(days=1, hours=20))
    slow = rated(service, "1", "payment", "disappointing", "slow_reply")
    # No process ran at 09:00 on Monday (down, or its run failed): Tuesday's digest is next.
    clock.set(NINE)
    assert sweeper.digest() == 3
    text = ratings_block(sweeper, uow_factory, "C_PAY")
    assert text.startswith("*⭐ Ratings since 04 Jan 09:00: 1*")
    assert f"• {slow}: Very Disappointing — Slow reply" in text


def test_a_stale_digest_left_on_start_leaves_its_ratings_to_the_next_one(
        uow_factory: SqlUnitOfWorkFactory, clock: ManualClock) -> None:
    service, sweeper = make(uow_factory, clock)
    sweeper.config = replace(sweeper.config, digest_catch_up_hours=2)
    clock.set(NINE - timedelta(days=1))
    assert sweeper.digest() == 3
    clock.set(NINE - timedelta(hours=3))
    rated(service, "1", "payment", "like")
    # Back at 13:00: too late for today's digest, which waits for tomorrow's.
    clock.set(NINE + timedelta(hours=4))
    assert sweeper.digest(catch_up=True) == 0
    clock.set(NINE + timedelta(days=1))
    assert sweeper.digest() == 3
    text = ratings_block(sweeper, uow_factory, "C_PAY")
    assert text.startswith("*⭐ Ratings since 05 Jan 09:00: 1*\n1 Worthy of a Like")
