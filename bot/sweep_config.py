"""The scheduler's settings, job names and texts, shared by the sweeps and the digest."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.cases import CaseRules
from bot.texts import Plural, register

ACTOR = "scheduler"  # actor_ref of everything the sweeps do
JOB_DIGEST = "digest"
MARK_EVALUATION_EXPIRED = "evaluation_expired"
SWEEPS: tuple[str, ...] = ("auto_close", "reminders", "first_response", "evaluation")

register({
    "sched.reminder": (
        "⏰ {number} ({title}) is still waiting for your answer. Please reply here with what "
        "we asked for; without an answer it will be closed on {close_on}."
    ),
    "sched.button_reply": "Reply now",
    "sched.button_keep_open": "I need more time",
    "sched.thread_reminder": (
        "⏰ Reminder {level} sent to the seller (waiting {hours} h; closes {close_on} without "
        "an answer)"
    ),
    "sched.thread_reminder_undelivered": (
        "⏰ Reminder {level} due, but the seller's chat does not accept messages"
    ),
    "sched.reason_pending": "no answer from the seller for {days} days",
    "sched.reason_resolved": "resolved {days} days ago with no reply from the seller",
    "sched.closed_pending": Plural(
        "📁 {number} was closed because we did not hear back from you within {days} day. "
        "You can reopen it within {reopen_days} days.",
        "📁 {number} was closed because we did not hear back from you within {days} days. "
        "You can reopen it within {reopen_days} days.", "days"),
    "sched.thread_fr_warning": (
        "⏳ First response due {due} ({left} left): nobody has answered the seller yet"
    ),
    "sched.channel_fr_warning": "⏳ {link} {title}: first response due {due} ({left} left)",
    "sched.thread_fr_breach": (
        "🚨 First-response target missed: opened {opened}, due {due}, no answer yet"
    ),
    "sched.channel_fr_breach": "🚨 {link} {title}: first-response target missed (due {due})",
    "sched.evaluation_expired": "How did we do on {number}? (Rating closed on {closed_on}.)",
    "sched.digest_title": "Daily digest {date}",
    "sched.digest_summary": (
        "📋 Daily digest {date}: {open} open, {overdue} overdue, {pending} waiting for the seller"
    ),
    "sched.digest_overdue": "*🚨 Overdue (first response missed): {count}*",
    "sched.digest_open": "*📂 Open: {count}*",
    "sched.digest_pending": "*⏳ Waiting for the seller: {count}*",
    "sched.digest_none": "_none_",
    "sched.digest_more": "…and {count} more",
    "sched.digest_line_overdue": "• {link} {title}{urgent}: due {due}",
    "sched.digest_line_open": "• {link} {title}{urgent}: opened {opened}",
    "sched.digest_line_pending": "• {link} {title}: waiting since {since}",
})

SLACK_SECTION_LIMIT = 2900  # Slack refuses section text over 3000 characters


def stamp(when: datetime | None) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") if when else "?"


def span(delta: timedelta) -> str:
    """A short human duration: "45 min", "5 h 30 min"."""
    minutes = max(0, int(delta.total_seconds() // 60))
    hours, minutes = divmod(minutes, 60)
    if not hours:
        return f"{minutes} min"
    return f"{hours} h {minutes} min" if minutes else f"{hours} h"


@dataclass(frozen=True)
class SchedulerConfig:
    """Times and thresholds of the scheduler. ``from_settings`` reads them from
    `frontdoor.settings.Settings` (names in the field comments), defaults otherwise."""

    reminder_hours: tuple[float, ...] = (24.0, 72.0)  # FRONTDOOR_REMINDER_HOURS="24,72"
    pending_auto_close_days: int = 7  # FRONTDOOR_PENDING_AUTO_CLOSE_DAYS
    resolved_auto_close_days: int = 7  # FRONTDOOR_RESOLVED_AUTO_CLOSE_DAYS
    first_response_hours: int = 24  # FRONTDOOR_FIRST_RESPONSE_HOURS (exists)
    first_response_urgent_hours: int = 4  # FRONTDOOR_FIRST_RESPONSE_URGENT_HOURS (exists)
    first_response_warning_ratio: float = 0.75  # FRONTDOOR_FIRST_RESPONSE_WARNING_RATIO
    evaluation_days: int = 4  # FRONTDOOR_EVALUATION_DAYS (exists)
    digest_time: time = time(9, 0)  # FRONTDOOR_DIGEST_TIME="09:00"
    digest_timezone: str = "Europe/London"  # FRONTDOOR_DIGEST_TIMEZONE
    digest_max_items: int = 15  # FRONTDOOR_DIGEST_MAX_ITEMS, per section
    # A daily slot is at most 24 h old, so by default a missed digest is always posted on
    # start (late rather than lost); lower it to drop digests that have gone stale.
    digest_catch_up_hours: float = 24.0  # FRONTDOOR_DIGEST_CATCH_UP_HOURS
    sweep_interval_seconds: float = 60.0  # FRONTDOOR_SWEEP_INTERVAL_SECONDS
    batch_size: int = 500  # FRONTDOOR_SWEEP_BATCH_SIZE: cases per transaction
    slack_link_base: str = "https://slack.com"  # SLACK_LINK_BASE (workspace URL)

    def __post_init__(self) -> None:
        if not self.reminder_hours or list(self.reminder_hours) != sorted(self.reminder_hours):
            raise ValueError("reminder_hours must be a non-empty ascending list")
        if not 0 < self.first_response_warning_ratio < 1:
            raise ValueError("first_response_warning_ratio must be between 0 and 1")
        if self.batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        ZoneInfo(self.digest_timezone)  # fail at start-up, not at 09:00

    @property
    def warning_lead(self) -> timedelta:
        """How long before the first-response deadline the warning goes (non-urgent)."""
        return timedelta(hours=self.first_response_hours * (1 - self.first_response_warning_ratio))

    @property
    def urgent_warning_lead(self) -> timedelta:
        return timedelta(
            hours=self.first_response_urgent_hours * (1 - self.first_response_warning_ratio))

    def digest_slot(self, now: datetime, tolerance: timedelta = timedelta(0)) -> datetime:
        """The latest scheduled digest time at or before ``now + tolerance``, in UTC (the
        local wall-clock time, so it follows daylight saving)."""
        zone = ZoneInfo(self.digest_timezone)
        local = (now + tolerance).astimezone(zone)
        slot = datetime.combine(local.date(), self.digest_time, tzinfo=zone)
        if slot > local:
            slot = datetime.combine(local.date() - timedelta(days=1), self.digest_time,
                                    tzinfo=zone)
        return slot.astimezone(UTC)

    def case_rules(self, rules: CaseRules) -> CaseRules:
        """``rules`` with the deadlines CaseService stores on cases taken from this config, so
        what the sweeps enforce and what the case shows agree."""
        return replace(
            rules, pending_auto_close_days=self.pending_auto_close_days,
            resolved_auto_close_days=self.resolved_auto_close_days,
            first_response_hours=self.first_response_hours,
            first_response_urgent_hours=self.first_response_urgent_hours,
            evaluation_days=self.evaluation_days,
        )

    @classmethod
    def from_settings(cls, settings: object) -> SchedulerConfig:
        """Read ``frontdoor_*`` attributes of ``settings``; missing ones keep their default."""
        base = cls()
        values: dict[str, Any] = {}

        def get(name: str) -> Any:
            return getattr(settings, name, None)

        hours = get("frontdoor_reminder_hours")
        if hours is not None:
            items = hours.split(",") if isinstance(hours, str) else hours
            values["reminder_hours"] = tuple(float(h) for h in items if str(h).strip())
        digest_time = get("frontdoor_digest_time")
        if digest_time is not None:
            values["digest_time"] = (digest_time if isinstance(digest_time, time)
                                     else time.fromisoformat(str(digest_time)))
        simple = {
            "pending_auto_close_days": int, "resolved_auto_close_days": int,
            "first_response_hours": int, "first_response_urgent_hours": int,
            "first_response_warning_ratio": float, "evaluation_days": int,
            "digest_timezone": str, "digest_max_items": int, "digest_catch_up_hours": float,
            "sweep_interval_seconds": float,
        }
        for name, kind in simple.items():
            value = get(f"frontdoor_{name}")
            if value is not None:
                values[name] = kind(value)
        if get("frontdoor_sweep_batch_size") is not None:
            values["batch_size"] = int(get("frontdoor_sweep_batch_size"))
        if get("slack_link_base"):
            values["slack_link_base"] = str(get("slack_link_base")).rstrip("/")
        return replace(base, **values)
