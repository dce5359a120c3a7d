"""Times as people read them in the terminal: "today 14:05", "yesterday 09:30", "Tue 25 Nov
17:40", "3 Mar 2025 11:00", and ages like "5 min ago". Shown in the terminal's time zone
(``tz`` None) and named once where it matters; ``--json`` keeps ISO 8601 in UTC."""

from __future__ import annotations

from datetime import datetime, tzinfo

_WEEK_DAYS = 6


def local(when: datetime, tz: tzinfo | None = None) -> datetime:
    """``when`` in ``tz`` (None: the terminal's own time zone)."""
    return when.astimezone(tz) if tz is not None else when.astimezone()


def zone_name(now: datetime, tz: tzinfo | None = None) -> str:
    """The time zone's short name (e.g. "UTC", "CET") as it is at ``now``."""
    return local(now, tz).tzname() or "local time"


def human_time(when: datetime, now: datetime, tz: tzinfo | None = None) -> str:
    """A day people say, then the clock time: today, yesterday, tomorrow, a weekday in the
    last week, a date (with the year when it is not this year's)."""
    moment, today = local(when, tz), local(now, tz).date()
    clock = f"{moment:%H:%M}"
    days = (today - moment.date()).days
    if days == 0:
        return f"today {clock}"
    if days == 1:
        return f"yesterday {clock}"
    if days == -1:
        return f"tomorrow {clock}"
    if 1 < days <= _WEEK_DAYS:
        return f"{moment:%a} {moment.day} {moment:%b} {clock}"
    if moment.year == today.year:
        return f"{moment.day} {moment:%b} {clock}"
    return f"{moment.day} {moment:%b %Y} {clock}"


def human_date(when: datetime, tz: tzinfo | None = None) -> str:
    """A date alone, e.g. "14 Dec 2026"."""
    moment = local(when, tz)
    return f"{moment.day} {moment:%b %Y}"


def age(when: datetime, now: datetime) -> str:
    """How long ago, roughly: "just now", "12 min ago", "5 h ago", "3 d ago"; or "in 2 d"."""
    seconds = (now - when).total_seconds()
    ahead = seconds < 0
    seconds = abs(seconds)
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        amount = f"{int(seconds // 60)} min"
    elif seconds < 86400:
        amount = f"{int(seconds // 3600)} h"
    else:
        amount = f"{int(seconds // 86400)} d"
    return f"in {amount}" if ahead else f"{amount} ago"
