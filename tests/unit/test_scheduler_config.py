"""Scheduler configuration, digest slots and digest layout (no database)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, time, timedelta
from types import SimpleNamespace

import pytest

from bot.cases import CaseRules
from bot.digest import _fit
from bot.domain import Case
from bot.sweep_config import span as _span
from bot.sweeps import SchedulerConfig, Sweeper

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def test_defaults_match_the_issue() -> None:
    c = SchedulerConfig()
    assert c.reminder_hours == (24, 72)
    assert (c.pending_auto_close_days, c.resolved_auto_close_days, c.evaluation_days) == (7, 7, 4)
    assert c.warning_lead == timedelta(hours=6)
    assert c.urgent_warning_lead == timedelta(hours=1)
    assert (c.digest_time, c.digest_timezone, c.sweep_interval_seconds) == (
        time(9, 0), "Europe/London", 60)


def test_from_settings_reads_what_is_set_and_keeps_defaults() -> None:
    settings = SimpleNamespace(
        frontdoor_reminder_hours="12, 48", frontdoor_digest_time="08:30",
        frontdoor_digest_timezone="Asia/Colombo", frontdoor_first_response_hours=8,
        frontdoor_resolved_auto_close_days=3, frontdoor_sweep_batch_size=100,
        slack_link_base="https://acme.slack.com/")
    c = SchedulerConfig.from_settings(settings)
    assert c.reminder_hours == (12, 48)
    assert c.digest_time == time(8, 30) and c.digest_timezone == "Asia/Colombo"
    assert c.warning_lead == timedelta(hours=2)
    assert c.resolved_auto_close_days == 3 and c.batch_size == 100
    assert c.slack_link_base == "https://acme.slack.com"
    assert c.pending_auto_close_days == 7
    rules = c.case_rules(CaseRules())
    assert (rules.resolved_auto_close_days, rules.first_response_hours) == (3, 8)


@pytest.mark.parametrize("bad", [
    {"reminder_hours": (72, 24)}, {"reminder_hours": ()},
    {"first_response_warning_ratio": 1.0}, {"batch_size": 0},
    {"digest_timezone": "Mars/Olympus"},
])
def test_bad_configuration_fails_at_start(bad: dict[str, object]) -> None:
    with pytest.raises(Exception):  # noqa: B017 - ValueError or ZoneInfoNotFoundError
        SchedulerConfig(**bad)  # type: ignore[arg-type]


def test_digest_slot_is_local_time_across_daylight_saving() -> None:
    c = SchedulerConfig()
    # Winter: 09:00 London = 09:00 UTC; summer: 08:00 UTC.
    assert c.digest_slot(T0) == T0
    assert c.digest_slot(T0 - timedelta(seconds=1)) == T0 - timedelta(days=1)
    summer = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)
    assert c.digest_slot(summer) == datetime(2026, 7, 1, 8, 0, tzinfo=UTC)
    # The morning after the clocks go forward (29 March 2026).
    assert c.digest_slot(datetime(2026, 3, 29, 8, 30, tzinfo=UTC)) == datetime(
        2026, 3, 29, 8, 0, tzinfo=UTC)
    # A wake-up a little early still counts for the coming slot.
    assert c.digest_slot(T0 - timedelta(seconds=30), timedelta(seconds=60)) == T0


def case(i: int, status: str, **kw: object) -> Case:
    base = Case(
        id=i, number=f"CX-{i:06d}", seller_id=1, identity_id=None, case_type="payment",
        order_id=None, title="Payments", status=status, urgent=False, needs_human=False,
        keep_open_count=0, created_at=T0, updated_at=T0, status_changed_at=T0,
        first_response_due_at=T0 + timedelta(hours=24), first_response_at=None,
        pending_since=None, auto_close_at=None, resolved_at=None, closed_at=None,
        seller_seen_at=None, reopened_from_id=None, reopened_as_id=None)
    return replace(base, **kw)  # type: ignore[arg-type]


def test_digest_sections_classify_and_order() -> None:
    now = T0 + timedelta(hours=30)
    cases = [
        case(1, "open"),  # due at 24 h: overdue
        case(2, "investigating", first_response_at=T0 + timedelta(hours=1)),  # answered
        case(3, "pending", pending_since=T0 + timedelta(hours=2)),
        case(4, "open", urgent=True, created_at=T0 + timedelta(hours=29),
             first_response_due_at=T0 + timedelta(hours=33)),
        case(5, "open", first_response_due_at=T0 + timedelta(hours=20)),
    ]
    sec = Sweeper.digest_sections(cases, now)
    assert [c.id for c in sec.overdue] == [5, 1]
    assert [c.id for c in sec.open] == [4, 2]  # urgent first
    assert [c.id for c in sec.pending] == [3]


def test_fit_keeps_sections_under_slacks_limit() -> None:
    lines = [f"• <https://slack.com/archives/C1/p{i:016d}|CX-{i:06d}> " + "x" * 80
             for i in range(100)]
    text = _fit("*Open: 100*", lines, 100)
    assert len(text) < 3000
    assert text.endswith("more")
    assert _fit("*Open: 0*", [], 0).endswith("_none_")
    assert _fit("*Open: 20*", ["• a"] * 15, 20).endswith("…and 5 more")


def test_span() -> None:
    assert _span(timedelta(hours=6)) == "6 h"
    assert _span(timedelta(minutes=65)) == "1 h 5 min"
    assert _span(timedelta(seconds=-5)) == "0 min"
