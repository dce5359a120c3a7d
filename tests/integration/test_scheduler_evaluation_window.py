"""The scheduler's end of the evaluation window (rule 6, issue 6) and the auto-close of resolved
cases, on SQLite and PostgreSQL, driven by a ManualClock."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from bot import outbox as ob
from bot.cases import CaseRules, CaseService
from bot.clock import ManualClock
from bot.errors import EvaluationRefused
from bot.relay import Relay
from bot.sweeps import EVALUATION_EXPIRY_LOOK_BACK, SchedulerConfig, Sweeper
from storage.database import Database
from storage.models import OutboxRow
from storage.sweeps import SqlSweepStore, evaluation_expiry_candidates
from storage.uow import SqlUnitOfWorkFactory
from tests.integration import sweep_support
from tests.integration.case_rules_support import outbox
from tests.integration.query_plans import assert_reads_index, plan_of
from tests.integration.sweep_support import events, open_case, seller_texts

# The sweeper over the test's service, shared by the sweep tests.
sweeper = sweep_support.sweeper


def deliver_rating_prompt(uow_factory: SqlUnitOfWorkFactory, message_id: str) -> None:
    """The rating prompt was delivered: the platform gave it ``message_id``."""
    with uow_factory() as uow:
        [prompt] = [r for r in uow.session.scalars(select(OutboxRow)) if r.kind == ob.SELLER_MESSAGE
                    and r.payload["reply"]["buttons"]]
        prompt.status, prompt.platform_message_id = "sent", message_id
        uow.commit()


# Evaluation window (rule 6) and resolved auto-close ---------------------------------------------
def test_resolved_case_closes_after_the_configured_time_and_buttons_expire(
        service: CaseService, sweeper: Sweeper, clock: ManualClock,
        uow_factory: SqlUnitOfWorkFactory) -> None:
    seller_id, case = open_case(service)
    service.agent_reply(case.number, "U1", "Refunded", "Ann")
    service.change_status(case.number, "resolved")
    start = clock.now()
    deliver_rating_prompt(uow_factory, "555")

    clock.set(start + timedelta(days=4) - timedelta(seconds=1))
    assert sweeper.run_sweeps()["evaluation"] == 0
    clock.set(start + timedelta(days=4, seconds=1))
    assert sweeper.run_sweeps()["evaluation"] == 1
    assert sweeper.expire_evaluations() == 0
    [edit] = outbox(uow_factory, ob.SELLER_EDIT)
    assert edit.payload["platform_message_id"] == "555"
    assert "Rating closed" in edit.payload["text"]
    assert len(events(uow_factory, case.id, "evaluation_expired")) == 1
    with pytest.raises(EvaluationRefused):
        service.evaluate(seller_id, case.number, "like")

    clock.set(start + timedelta(days=7) - timedelta(seconds=1))
    assert sweeper.auto_close() == 0
    clock.set(start + timedelta(days=7))
    assert sweeper.auto_close() == 1
    detail = service.get_case(case.number)
    assert detail.case.status == "closed"
    [status] = [e for e in detail.events if e.to_value == "closed"]
    assert status.reason == "resolved 7 days ago with no reply from the seller"
    assert seller_texts(uow_factory)[-1]["text"].startswith(f"📁 {case.number} is closed")


def test_rated_case_has_no_expiry_and_still_closes(
        service: CaseService, sweeper: Sweeper, clock: ManualClock,
        uow_factory: SqlUnitOfWorkFactory) -> None:
    seller_id, case = open_case(service)
    service.change_status(case.number, "resolved")
    service.evaluate(seller_id, case.number, "like")
    clock.advance(days=8)
    assert sweeper.run_sweeps() == {"auto_close": 1, "reminders": 0, "first_response": 0,
                                    "evaluation": 0}
    assert events(uow_factory, case.id, "evaluation_expired") == []


def test_resolved_auto_close_time_is_configurable(
        uow_factory: SqlUnitOfWorkFactory, relay: Relay, clock: ManualClock) -> None:
    config = SchedulerConfig(resolved_auto_close_days=2)
    service = CaseService(uow_factory, relay, config.case_rules(CaseRules()), clock)
    sweeper = Sweeper(service, SqlSweepStore(), config)
    _, case = open_case(service)
    service.change_status(case.number, "resolved")
    clock.advance(days=2)
    assert sweeper.auto_close() == 1
    # Closed before the window ended: still rateable until it ends, and then it expires.
    clock.advance(days=3)
    assert sweeper.expire_evaluations() == 1


def test_a_seller_reply_to_a_resolved_case_cancels_its_auto_close(
        service: CaseService, sweeper: Sweeper, clock: ManualClock) -> None:
    seller_id, case = open_case(service)
    service.change_status(case.number, "resolved")
    clock.advance(days=1)
    service.add_seller_message(seller_id, case.number, "still not paid")
    clock.advance(days=10)
    assert sweeper.auto_close() == 0
    assert sweeper.expire_evaluations() == 0
    assert service.get_case(case.number).case.status == "investigating"


def test_re_resolved_case_gets_a_new_expiry(
        service: CaseService, sweeper: Sweeper, clock: ManualClock,
        uow_factory: SqlUnitOfWorkFactory) -> None:
    seller_id, case = open_case(service)
    service.change_status(case.number, "resolved")
    clock.advance(days=5)
    assert sweeper.expire_evaluations() == 1
    service.add_seller_message(seller_id, case.number, "still broken")
    service.change_status(case.number, "resolved")
    clock.advance(days=5)
    assert sweeper.expire_evaluations() == 1
    assert len(events(uow_factory, case.id, "evaluation_expired")) == 2


def test_a_case_closed_inside_its_window_has_its_buttons_expire_when_the_window_ends(
        service: CaseService, sweeper: Sweeper, clock: ManualClock,
        uow_factory: SqlUnitOfWorkFactory) -> None:
    seller_id, case = open_case(service)
    service.agent_reply(case.number, "U1", "Refunded", "Ann")
    service.change_status(case.number, "resolved")
    start = clock.now()
    deliver_rating_prompt(uow_factory, "555")
    clock.set(start + timedelta(hours=2))
    service.change_status(case.number, "closed")  # the agent closes it: still rateable

    clock.set(start + timedelta(days=4) - timedelta(seconds=1))
    assert sweeper.run_sweeps()["evaluation"] == 0
    clock.set(start + timedelta(days=4, seconds=1))
    assert sweeper.run_sweeps()["evaluation"] == 1
    assert sweeper.expire_evaluations() == 0
    [edit] = outbox(uow_factory, ob.SELLER_EDIT)
    assert edit.payload["platform_message_id"] == "555"
    assert len(events(uow_factory, case.id, "evaluation_expired")) == 1
    with pytest.raises(EvaluationRefused):
        service.evaluate(seller_id, case.number, "like")


def test_a_rated_closed_case_has_no_expiry(
        service: CaseService, sweeper: Sweeper, clock: ManualClock,
        uow_factory: SqlUnitOfWorkFactory) -> None:
    seller_id, case = open_case(service)
    service.change_status(case.number, "resolved")
    service.change_status(case.number, "closed")
    service.evaluate(seller_id, case.number, "like")
    clock.advance(days=5)
    assert sweeper.expire_evaluations() == 0
    assert events(uow_factory, case.id, "evaluation_expired") == []


def test_a_window_that_ended_longer_ago_than_the_look_back_is_left_alone(
        service: CaseService, sweeper: Sweeper, clock: ManualClock,
        uow_factory: SqlUnitOfWorkFactory) -> None:
    # No sweep ran for weeks (or the case was closed before closed cases were swept): an
    # expiry that late would edit a long-forgotten message; a late press is refused anyway.
    _, case = open_case(service)
    service.change_status(case.number, "resolved")
    service.change_status(case.number, "closed")
    clock.advance(days=4)
    clock.advance(days=EVALUATION_EXPIRY_LOOK_BACK.days, seconds=1)
    assert sweeper.expire_evaluations() == 0
    assert events(uow_factory, case.id, "evaluation_expired") == []


def test_the_expiry_sweep_reads_the_resolved_at_index(db: Database, clock: ManualClock) -> None:
    before = clock.now()
    query = evaluation_expiry_candidates(before - EVALUATION_EXPIRY_LOOK_BACK, before,
                                         clock.now(), 500, ())
    # A range per status; what is left after the marked and rated ones is sorted.
    assert_reads_index(plan_of(db, query, forbid_bitmap=True), "ix_cases_resolved", "cases",
                       sorted_by_index=False)
