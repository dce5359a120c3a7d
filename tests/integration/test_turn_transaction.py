"""A seller's turn is one transaction (storage.turn_transaction): the units of work inside it
are savepoints, and only the turn's commit saves them, with the event's claim done."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from bot.inbound_claims import DONE, LEASED, ClaimLost, InboundClaim, working_on
from storage.models import ProcessedEventRow
from storage.uow import SqlUnitOfWorkFactory

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
LEASE = timedelta(seconds=30)


def _claim(uow_factory: SqlUnitOfWorkFactory, event_id: str,
           now: datetime = NOW) -> InboundClaim:
    with uow_factory() as uow:
        claim = uow.inbound.claim("telegram", event_id, now, LEASE)
        uow.commit()
    assert claim is not None
    return claim


def _add_seller(uow_factory: SqlUnitOfWorkFactory, name: str) -> None:
    with uow_factory() as uow:
        uow.sellers.add(None, name, NOW)
        uow.commit()


def _sellers(uow_factory: SqlUnitOfWorkFactory) -> list[str]:
    with uow_factory(read_only=True) as uow:
        return sorted(uow.session.scalars(text("SELECT display_name FROM sellers")))


def test_a_turn_killed_after_two_works_leaves_nothing_and_its_event_leased(
        uow_factory: SqlUnitOfWorkFactory) -> None:
    claim = _claim(uow_factory, "tg-1")
    whole = uow_factory.one_transaction()
    with working_on(claim), whole.current():
        _add_seller(uow_factory, "first work")
        _add_seller(uow_factory, "second work")
        assert claim.state == LEASED  # a unit's commit keeps its work for the turn
    whole.close()  # the process dies before the turn's commit
    assert _sellers(uow_factory) == []
    with uow_factory() as uow:
        assert uow.inbound.in_progress("telegram", "tg-1")
        # ...so once the lease runs out the redelivery takes the event over, from the start.
        assert uow.inbound.claim("telegram", "tg-1", NOW + LEASE * 2, LEASE) is not None


def test_a_turn_commit_saves_every_work_and_completes_the_claim(
        uow_factory: SqlUnitOfWorkFactory) -> None:
    claim = _claim(uow_factory, "tg-2")
    whole = uow_factory.one_transaction()
    with working_on(claim), whole.current():
        _add_seller(uow_factory, "the work")
        _add_seller(uow_factory, "the answer")
        whole.commit()
    whole.close()
    assert claim.state == DONE
    assert _sellers(uow_factory) == ["the answer", "the work"]
    with uow_factory() as uow:
        assert not uow.inbound.in_progress("telegram", "tg-2")
        assert uow.inbound.claim("telegram", "tg-2", NOW + LEASE * 2, LEASE) is None


def test_reads_see_the_turns_own_work_once_it_has_written(
        uow_factory: SqlUnitOfWorkFactory) -> None:
    _add_seller(uow_factory, "before the turn")
    whole = uow_factory.one_transaction()
    with whole.current():
        # Before any write a read has its own connection and sees what is committed.
        assert _sellers(uow_factory) == ["before the turn"]
        _add_seller(uow_factory, "in the turn")
        assert _sellers(uow_factory) == ["before the turn", "in the turn"]
    # Outside the turn nothing of it is visible until it commits.
    assert _sellers(uow_factory) == ["before the turn"]
    whole.close()
    assert _sellers(uow_factory) == ["before the turn"]


def test_a_refused_unit_undoes_only_its_own_writes(uow_factory: SqlUnitOfWorkFactory) -> None:
    whole = uow_factory.one_transaction()
    with whole.current():
        _add_seller(uow_factory, "kept")
        with pytest.raises(ValueError), uow_factory() as uow:
            uow.sellers.add(None, "refused", NOW)
            raise ValueError("a rule refuses after writing")
        with uow_factory() as uow:
            uow.sellers.add(None, "undone then redone", NOW)
            uow.rollback()  # a rule that lost a race goes on reading in a new savepoint
            uow.sellers.add(None, "after the rollback", NOW)
            uow.commit()
        whole.commit()
    whole.close()
    assert _sellers(uow_factory) == ["after the rollback", "kept"]


def test_a_unit_whose_flush_failed_undoes_itself_and_the_turn_goes_on(
        uow_factory: SqlUnitOfWorkFactory) -> None:
    """A failed flush deactivates the unit's savepoint at once; it must still be rolled back,
    or the session refuses every later statement of the turn."""
    whole = uow_factory.one_transaction()
    with whole.current():
        _add_seller(uow_factory, "kept")
        with pytest.raises(ValueError), uow_factory() as uow:
            uow.session.add_all([ProcessedEventRow(source="telegram", event_id="same",
                                                   created_at=NOW) for _ in range(2)])
            try:
                uow.session.flush()
            except IntegrityError:
                raise ValueError("a rule refuses after its insert failed") from None
        _add_seller(uow_factory, "after the refusal")
        whole.commit()
    whole.close()
    assert _sellers(uow_factory) == ["after the refusal", "kept"]


def test_a_reader_inside_the_turn_that_rolls_back_undoes_nothing(
        uow_factory: SqlUnitOfWorkFactory) -> None:
    whole = uow_factory.one_transaction()
    with whole.current():
        _add_seller(uow_factory, "kept")
        with uow_factory(read_only=True) as reader:
            reader.rollback()
        with whole.last_unit() as last:
            last.sellers.add(None, "the answer", NOW)
            last.commit()
    whole.close()
    assert _sellers(uow_factory) == ["kept", "the answer"]


def test_a_turn_whose_event_was_taken_over_saves_nothing(
        uow_factory: SqlUnitOfWorkFactory) -> None:
    slow = _claim(uow_factory, "tg-3")
    # The slow attempt outlives its lease; a redelivery takes the event over.
    assert _claim(uow_factory, "tg-3", NOW + LEASE * 2) is not None
    whole = uow_factory.one_transaction()
    with working_on(slow), whole.current():
        _add_seller(uow_factory, "the slow attempt's work")
        with pytest.raises(ClaimLost):
            whole.commit()
    whole.close()
    assert _sellers(uow_factory) == []


def test_an_event_without_an_answer_is_done_at_its_first_commit(
        uow_factory: SqlUnitOfWorkFactory) -> None:
    """An agent's Slack event has no turn transaction: its one unit of work completes it."""
    claim = _claim(uow_factory, "slack-1")
    with working_on(claim):
        _add_seller(uow_factory, "the work")
    assert claim.state == DONE
    with uow_factory() as uow:
        assert not uow.inbound.in_progress("telegram", "slack-1")


def test_a_second_turn_of_a_user_with_no_dialogue_yet_waits_and_sees_the_first_ones(
        uow_factory: SqlUnitOfWorkFactory) -> None:
    """Two processes' first turns of a new user: the locked read makes the user's (empty)
    row, so the second waits for the first's commit and sees its state, instead of both
    reading "no state" and the second save overwriting the first."""
    first = uow_factory.one_transaction()
    with first.current(), first.last_unit() as uow:
        assert uow.dialogue.lock("telegram", "new-user", NOW) == {}
        uow.dialogue.save("telegram", "new-user", {"step": "first"}, NOW)
        seen: list[dict[str, object]] = []

        def second_turn() -> None:
            second = uow_factory.one_transaction()
            with second.current(), second.last_unit() as other:
                seen.append(other.dialogue.lock("telegram", "new-user", NOW))
            second.close()

        waiting = threading.Thread(target=second_turn)
        waiting.start()
        waiting.join(0.5)
        assert waiting.is_alive() and seen == []  # held by the first turn's lock
        uow.commit()
    first.close()
    waiting.join(10)
    assert seen == [{"step": "first"}]
