"""A seller's turn commits its work once (bot.inbound_claims): a replay after a kill rolls back
every work commit of the turn, so a second one would be lost. The unit of work says so loudly
when a turn commits twice, and the whole suite fails on it (tests/conftest.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.inbound_claims import DONE, WORKED, InboundClaim, working_on
from storage.uow import SqlUnitOfWorkFactory

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def _claim_turn(uow_factory: SqlUnitOfWorkFactory, event_id: str,
                answers: bool) -> InboundClaim:
    with uow_factory() as uow:
        claim = uow.inbound.claim("telegram", event_id, NOW, timedelta(seconds=30),
                                  answers=answers)
        uow.commit()
    assert claim is not None
    return claim


def _work(uow_factory: SqlUnitOfWorkFactory, name: str) -> None:
    with uow_factory() as uow:
        uow.sellers.add(None, name, NOW)
        uow.commit()


def test_a_turn_that_commits_work_twice_is_reported(
        uow_factory: SqlUnitOfWorkFactory, one_work_commit_per_turn: list[str]) -> None:
    claim = _claim_turn(uow_factory, "tg-1", answers=True)
    with working_on(claim):
        _work(uow_factory, "first work")
        assert claim.state == WORKED
        assert one_work_commit_per_turn == []
        _work(uow_factory, "second work")
    assert len(one_work_commit_per_turn) == 1
    assert "second work commit in the turn of inbound event telegram:tg-1" in (
        one_work_commit_per_turn[0])
    one_work_commit_per_turn.clear()  # seen: this test is about it


def test_one_work_commit_and_the_answer_are_not_reported(
        uow_factory: SqlUnitOfWorkFactory, one_work_commit_per_turn: list[str]) -> None:
    claim = _claim_turn(uow_factory, "tg-2", answers=True)
    with working_on(claim):
        _work(uow_factory, "the work")
        claim.finishing = True  # the answer's commit, as the engine's last transaction
        _work(uow_factory, "the answer")
    assert claim.state == DONE
    assert one_work_commit_per_turn == []


def test_an_event_without_an_answer_is_done_at_its_first_commit(
        uow_factory: SqlUnitOfWorkFactory, one_work_commit_per_turn: list[str]) -> None:
    claim = _claim_turn(uow_factory, "tg-3", answers=False)
    with working_on(claim):
        _work(uow_factory, "the work")
    assert claim.state == DONE
    assert one_work_commit_per_turn == []
