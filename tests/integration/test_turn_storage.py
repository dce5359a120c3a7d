"""The storage a turn uses: the joined start read, the dialogue upsert, inbound claims (leases
completed by the event's first work, taken over when their attempt died), and read-only units
of work (autocommit on PostgreSQL, writes refused)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import text

from bot.cases import CaseService
from bot.clock import ManualClock
from bot.inbound_claims import DONE, ClaimLost, working_on
from storage.database import Database
from storage.uow import SqlUnitOfWorkFactory


def test_start_creates_the_identity_on_first_contact_and_keeps_it_current(
        uow_factory: SqlUnitOfWorkFactory, clock: ManualClock) -> None:
    now = clock.now()
    with uow_factory() as uow:
        first = uow.dialogue.start("telegram", "42", "chat-42", "Alice", now)
        uow.commit()
    assert first.seller is None and first.state == {}
    assert (first.identity.address, first.identity.display_name) == ("chat-42", "Alice")

    with uow_factory() as uow:
        uow.dialogue.save("telegram", "42", {"flow": "intake"}, now)
        uow.commit()
    with uow_factory() as uow:
        again = uow.dialogue.start("telegram", "42", "chat-43", None, now)
        uow.commit()
    assert again.identity.id == first.identity.id
    assert again.state == {"flow": "intake"}
    # A new address is stored; a missing display name keeps the known one.
    assert (again.identity.address, again.identity.display_name) == ("chat-43", "Alice")
    with uow_factory() as uow:
        stored = uow.identities.get(first.identity.id)
    assert stored is not None and stored.address == "chat-43"


def test_start_returns_the_registered_seller(uow_factory: SqlUnitOfWorkFactory,
                                             service: CaseService, clock: ManualClock) -> None:
    ident, _ = service.identify("slack", "U1", "D1", "Bob")
    seller = service.register(ident.id, service.create_invitation("Bob's Shop").code)
    with uow_factory() as uow:
        start = uow.dialogue.start("slack", "U1", "D1", "Bob", clock.now())
    assert start.seller == seller


def test_save_inserts_then_replaces(uow_factory: SqlUnitOfWorkFactory,
                                    clock: ManualClock) -> None:
    for state in ({"step": "one"}, {"step": "two", "data": {"x": [1, 2]}}):
        with uow_factory() as uow:
            uow.dialogue.save("console", "u", state, clock.now())
            uow.commit()
    with uow_factory() as uow:
        assert uow.dialogue.load("console", "u") == {"step": "two", "data": {"x": [1, 2]}}
        count = uow.session.execute(text("SELECT count(*) FROM dialogue_states")).scalar_one()
    assert count == 1


LEASE = timedelta(seconds=30)


def test_a_released_claim_can_be_claimed_again(uow_factory: SqlUnitOfWorkFactory,
                                               clock: ManualClock) -> None:
    with uow_factory() as uow:
        claim = uow.inbound.claim("telegram", "ev-1", clock.now(), LEASE)
        assert claim is not None
        assert uow.inbound.claim("telegram", "ev-1", clock.now(), LEASE) is None
        uow.commit()
    with uow_factory() as uow:
        uow.inbound.release(claim)
        uow.commit()
    with uow_factory() as uow:
        assert uow.inbound.claim("telegram", "ev-1", clock.now(), LEASE) is not None
        uow.commit()


def test_a_claim_whose_attempt_died_is_taken_over_after_its_lease(
        uow_factory: SqlUnitOfWorkFactory, clock: ManualClock) -> None:
    with uow_factory() as uow:
        first = uow.inbound.claim("slack", "Ev1", clock.now(), LEASE)
        uow.commit()
    assert first is not None
    # The attempt died without saving any work: within the lease a redelivery waits...
    clock.advance(timedelta(seconds=29))
    with uow_factory() as uow:
        assert uow.inbound.claim("slack", "Ev1", clock.now(), LEASE) is None
        uow.rollback()
    # ...after it, the redelivery takes the event over.
    clock.advance(timedelta(seconds=2))
    with uow_factory() as uow:
        second = uow.inbound.claim("slack", "Ev1", clock.now(), LEASE)
        uow.commit()
    assert second is not None and second.owner != first.owner
    # The first attempt, if it was only slow, can no longer complete (nor release) the event.
    with uow_factory() as uow:
        assert not uow.inbound.complete(first)
        uow.inbound.release(first)
        uow.commit()
    with uow_factory() as uow:
        assert uow.inbound.complete(second)
        uow.commit()


def test_a_done_event_is_never_claimed_again(uow_factory: SqlUnitOfWorkFactory,
                                            clock: ManualClock) -> None:
    with uow_factory() as uow:
        claim = uow.inbound.claim("telegram", "ev-9", clock.now(), LEASE)
        assert claim is not None
        uow.commit()
    with uow_factory() as uow, working_on(claim):
        uow.commit()  # the event's work: completes the claim in the same commit
    assert claim.state == DONE
    clock.advance(timedelta(days=2))
    with uow_factory() as uow:
        assert uow.inbound.claim("telegram", "ev-9", clock.now(), LEASE) is None
        uow.inbound.release(claim)  # a done event is not given back either
        uow.commit()
    with uow_factory() as uow:
        assert uow.inbound.claim("telegram", "ev-9", clock.now(), LEASE) is None


def test_work_committed_after_a_takeover_is_rolled_back(
        uow_factory: SqlUnitOfWorkFactory, service: CaseService, clock: ManualClock) -> None:
    with uow_factory() as uow:
        slow = uow.inbound.claim("telegram", "ev-5", clock.now(), LEASE)
        uow.commit()
    assert slow is not None
    clock.advance(LEASE + timedelta(seconds=1))
    with uow_factory() as uow:
        assert uow.inbound.claim("telegram", "ev-5", clock.now(), LEASE) is not None
        uow.commit()
    with working_on(slow), pytest.raises(ClaimLost):
        service.identify("telegram", "slow-writer")
    with uow_factory() as uow:
        assert uow.identities.find("telegram", "slow-writer") is None


def test_read_only_units_of_work_read(uow_factory: SqlUnitOfWorkFactory,
                                      service: CaseService) -> None:
    ident, _ = service.identify("console", "reader")
    with uow_factory(read_only=True) as uow:
        assert uow.identities.get(ident.id) == ident


def test_read_only_units_of_work_refuse_writes_on_postgresql(
        postgres_url: str, clock: ManualClock) -> None:
    # PostgreSQL runs read-only units of work in autocommit: a write there would stick.
    db = Database(postgres_url)
    try:
        uow_factory = SqlUnitOfWorkFactory(db, "CX")
        with uow_factory(read_only=True) as uow, pytest.raises(PermissionError):
            uow.inbound.claim("telegram", f"ro-{clock.now().timestamp()}", clock.now(), LEASE)
        with uow_factory() as uow:
            # nothing was written
            assert uow.inbound.claim("telegram", f"ro-{clock.now().timestamp()}", clock.now(),
                                     LEASE)
            uow.rollback()
        # Queries that write or lock rows are refused too (autocommit would commit a write at
        # once and drop a lock at once).
        for statement in ("WITH gone AS (DELETE FROM processed_events RETURNING 1) "
                          "SELECT count(*) FROM gone",
                          "SELECT id FROM cases FOR UPDATE",
                          "SELECT pg_notify('frontdoor_outbox', '')"):
            with uow_factory(read_only=True) as uow, pytest.raises(PermissionError):
                uow.session.execute(text(statement))
        with uow_factory(read_only=True) as uow:
            assert uow.session.execute(text("SELECT count(*) >= 0 FROM cases")).scalar() is True
    finally:
        db.dispose()


def test_a_leased_claim_with_its_work_saved_counts_as_done(
        uow_factory: SqlUnitOfWorkFactory, clock: ManualClock) -> None:
    """Before a turn was one transaction, a kill between its work and its answer left a leased
    row with its work done. After an upgrade such a row is done: never taken over (its work
    would be repeated), never "in progress" (its redelivery would be sent back for ever)."""
    with uow_factory() as uow:
        claim = uow.inbound.claim("telegram", "ev-77", clock.now(), LEASE)
        uow.commit()
    assert claim is not None
    with uow_factory() as uow:
        uow.session.execute(text("UPDATE processed_events SET work_done = true "
                                 "WHERE event_id = 'ev-77'"))
        uow.commit()
    clock.advance(LEASE + timedelta(seconds=1))
    with uow_factory() as uow:
        assert uow.inbound.claim("telegram", "ev-77", clock.now(), LEASE) is None
        assert not uow.inbound.in_progress("telegram", "ev-77")
