"""Where an agent reply's trip to the seller goes, stage by stage (`bench.bench_service`).

The load test times an agent reply from its signed ``/slack/events`` POST to the seller's copy
arriving at the Telegram stand-in. This splits that time with the rows the service writes
anyway, so nothing is added to the code under test:

1. **POST -> desk claim**: the event is recorded in the inbox and answered, waits for its
   conversation's turn and a worker thread, goes through bolt's listeners, and the agent desk
   claims it (``processed_events.created_at``);
2. **claim -> outbox item**: the desk finds the case and writes the reply, its events and the
   seller's copy (``outbox.created_at``, stamped inside that transaction);
3. **outbox item -> at the stand-in**: the commit, the dispatcher's wake-up and claim, and the
   send (the stand-in's clock of arrival);
4. **at the stand-in -> marked sent**: recording the completion (``outbox.sent_at``), which the
   seller doesn't wait for.

The stamps are wall-clock (UTC) on one machine: the service's clock and this process's
``time.time()`` are the same clock.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import create_engine, text

from bench.report import percentile

STAGES = (
    ("POST -> desk claim", "posted", "claimed"),
    ("desk claim -> outbox item written", "claimed", "queued"),
    ("outbox item -> at the stand-in", "queued", "arrived"),
    ("at the stand-in -> marked sent", "arrived", "sent"),
)


@dataclass(frozen=True)
class AgentTrip:
    """One timed agent reply: its token, Slack event id, and the load's wall-clock stamps."""

    token: str
    event_id: str
    posted: float
    arrived: float


def _epoch(value: object) -> float | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    assert isinstance(value, datetime)
    if value.tzinfo is None:  # SQLite keeps the service's UTC stamps without a zone
        value = value.replace(tzinfo=UTC)
    return value.timestamp()


def stage_times(database_url: str, trips: list[AgentTrip]) -> dict[str, list[float]]:
    """Milliseconds per stage for every trip whose rows are all found."""
    stages: dict[str, list[float]] = {name: [] for name, _, _ in STAGES}
    if not trips:
        return stages
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            claimed = {row[0]: _epoch(row[1]) for row in conn.execute(
                text("SELECT event_id, created_at FROM processed_events WHERE event_id LIKE "
                     "'Evbench%'"))}
            outbox = [(str(row[0]), _epoch(row[1]), _epoch(row[2])) for row in conn.execute(
                text("SELECT CAST(payload AS TEXT), created_at, sent_at FROM outbox "
                     "WHERE CAST(payload AS TEXT) LIKE '%reference agent%'"))]
    finally:
        engine.dispose()
    for trip in trips:
        mentions = re.compile(rf"reference {re.escape(trip.token)}(?![0-9A-Za-z])")
        queued = [(created, sent) for payload, created, sent in outbox if mentions.search(payload)]
        stamps = {"posted": trip.posted, "claimed": claimed.get(trip.event_id),
                  "arrived": trip.arrived,
                  "queued": queued[0][0] if len(queued) == 1 else None,
                  "sent": queued[0][1] if len(queued) == 1 else None}
        if any(value is None for value in stamps.values()):
            continue
        for name, start, end in STAGES:
            stages[name].append((stamps[end] - stamps[start]) * 1000)  # type: ignore[operator]
    return stages


def stage_rows(per_run: list[dict[str, list[float]]]) -> list[tuple[str, list[str]]]:
    """Table rows (label, one cell per run): p50 / p99 of each stage and how many trips."""
    rows = []
    for name, _, _ in STAGES:
        rows.append((f"agent reply stage: {name}, p50 / p99 ms",
                     [f"{percentile(times[name], 50):.1f} / {percentile(times[name], 99):.1f}"
                      if times[name] else "–" for times in per_run]))
    rows.append(("agent replies with every stage found",
                 [str(len(times[STAGES[0][0]])) for times in per_run]))
    return rows
