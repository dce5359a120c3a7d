"""Times in the terminal as people say them (frontdoor.timestamps)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from frontdoor.timestamps import age, human_date, human_time, zone_name

NOW = datetime(2026, 11, 30, 14, 10, tzinfo=UTC)  # a Monday


@pytest.mark.parametrize(("when", "expected"), [
    (NOW - timedelta(minutes=5), "today 14:05"),
    (NOW - timedelta(hours=20), "yesterday 18:10"),
    (NOW + timedelta(hours=12), "tomorrow 02:10"),
    (NOW - timedelta(days=3), "Fri 27 Nov 14:10"),
    (NOW - timedelta(days=6), "Tue 24 Nov 14:10"),
    (NOW - timedelta(days=20), "10 Nov 14:10"),
    (datetime(2025, 3, 3, 11, 0, tzinfo=UTC), "3 Mar 2025 11:00"),
])
def test_human_time(when: datetime, expected: str) -> None:
    assert human_time(when, NOW, UTC) == expected


def test_the_terminals_time_zone_decides_the_day() -> None:
    colombo = ZoneInfo("Asia/Colombo")  # UTC+5:30: 20:00 UTC is already tomorrow there
    late = datetime(2026, 11, 30, 20, 0, tzinfo=UTC)
    assert human_time(late, NOW, colombo) == "tomorrow 01:30"
    assert zone_name(NOW, colombo) == "+0530" and zone_name(NOW, UTC) == "UTC"
    assert human_date(late, colombo) == "1 Dec 2026"


@pytest.mark.parametrize(("delta", "expected"), [
    (timedelta(seconds=20), "just now"), (timedelta(minutes=12), "12 min ago"),
    (timedelta(hours=5, minutes=59), "5 h ago"), (timedelta(days=3, hours=2), "3 d ago"),
    (-timedelta(days=2, hours=1), "in 2 d"),
])
def test_age(delta: timedelta, expected: str) -> None:
    assert age(NOW - delta, NOW) == expected
