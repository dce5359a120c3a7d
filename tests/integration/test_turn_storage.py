"""The storage a turn uses: the joined start read, the dialogue upsert, claims and their
release, and read-only units of work (autocommit on PostgreSQL, writes refused)."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from bot.cases import CaseService
from bot.clock import ManualClock
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


def test_a_released_claim_can_be_claimed_again(uow_factory: SqlUnitOfWorkFactory,
                                               clock: ManualClock) -> None:
    with uow_factory() as uow:
        assert uow.inbound.claim("telegram", "ev-1", clock.now())
        assert not uow.inbound.claim("telegram", "ev-1", clock.now())
        uow.commit()
    with uow_factory() as uow:
        uow.inbound.release("telegram", "ev-1")
        uow.commit()
    with uow_factory() as uow:
        assert uow.inbound.claim("telegram", "ev-1", clock.now())
        uow.commit()


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
            uow.inbound.claim("telegram", f"ro-{clock.now().timestamp()}", clock.now())
        with uow_factory() as uow:
            # nothing was written
            assert uow.inbound.claim("telegram", f"ro-{clock.now().timestamp()}", clock.now())
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
