"""The inbox of Slack events acknowledged before processing (storage side), on SQLite and
PostgreSQL: recorded once, leased to one attempt, claimed again when the lease runs out, with a
growing lease for an event that keeps failing, and deleted only by the attempt holding it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from storage.database import Database
from storage.inbox_queue import SqlInbox

LEASE = timedelta(seconds=30)
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def test_an_event_is_recorded_once_and_leased_to_its_receiver(db: Database) -> None:
    inbox = SqlInbox(db)
    first = inbox.record("slack", "Ev1", '{"a": 1}', T0, LEASE)
    assert first is not None and first.attempts == 1 and first.body == '{"a": 1}'
    assert inbox.record("slack", "Ev1", '{"a": 1}', T0, LEASE) is None  # Slack's retry
    assert inbox.claim_due("slack", T0 + LEASE - timedelta(seconds=1), LEASE, 10) == []
    assert inbox.waiting("slack") == 1
    assert inbox.done(first) and inbox.waiting("slack") == 0


def test_a_lapsed_record_is_claimed_by_one_attempt_and_the_old_owner_cannot_clear_it(
        db: Database) -> None:
    inbox = SqlInbox(db)
    dead = inbox.record("slack", "Ev2", "{}", T0, LEASE)
    assert dead is not None
    later = T0 + LEASE + timedelta(seconds=1)
    claimed = inbox.claim_due("slack", later, LEASE, 10)
    assert [(e.event_id, e.attempts) for e in claimed] == [("Ev2", 2)]
    assert inbox.claim_due("slack", later, LEASE, 10) == []  # leased again: nobody else
    assert inbox.claim_due("other", later + 10 * LEASE, LEASE, 10) == []  # per source
    assert not inbox.done(dead)  # the first attempt lost it
    assert inbox.done(claimed[0]) and inbox.waiting("slack") == 0


def test_an_event_that_keeps_failing_is_retried_less_and_less_often_but_kept(
        db: Database) -> None:
    inbox = SqlInbox(db)
    inbox.record("slack", "Ev3", "{}", T0, LEASE)
    now = T0
    gaps = []
    for _ in range(9):
        later = now + timedelta(seconds=10)
        while not (claimed := inbox.claim_due("slack", later, LEASE, 10)):
            later += timedelta(seconds=10)
        gaps.append(round((later - now).total_seconds()))
        now = later
    assert gaps == [40, 40, 70, 130, 250, 490, 970, 1930, 1930]  # 10 s steps
    assert claimed[0].attempts == 10 and inbox.waiting("slack") == 1


def test_a_conversation_waits_for_its_oldest_event_but_not_for_one_that_keeps_failing(
        db: Database) -> None:
    inbox = SqlInbox(db)
    poison = inbox.record("slack", "EvA", "{}", T0, LEASE, "D1:")
    later = inbox.record("slack", "EvB", "{}", T0, LEASE, "D1:")
    other = inbox.record("slack", "EvC", "{}", T0, LEASE, "D2:")
    assert poison is not None and later is not None and other is not None
    assert inbox.waits_behind_older(later) and not inbox.waits_behind_older(other)
    inbox.step_back(later, T0)
    now, claims = T0, []
    while len(claims) < 4:
        now += timedelta(seconds=10)
        claims += [(e.event_id, e.attempts) for e in inbox.claim_due("slack", now, LEASE, 10)
                   if e.event_id != "EvC"]
    # EvA fails each time it is tried; EvB waits until EvA has had its attempts, then goes.
    assert claims[:3] == [("EvA", 2), ("EvA", 3), ("EvB", 2)]
    assert not inbox.waits_behind_older(later)  # nor does a live attempt of EvB wait now
