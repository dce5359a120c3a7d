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
from bot.sweeps import SchedulerConfig, Sweeper
from storage.models import OutboxRow
from storage.sweeps import SqlSweepStore
from storage.uow import SqlUnitOfWorkFactory
from tests.integration import sweep_support
from tests.integration.case_rules_support import outbox
from tests.integration.sweep_support import events, open_case, seller_texts

# The sweeper over the test's service, shared by the sweep tests.
sweeper = sweep_support.sweeper


# Evaluation window (rule 6) and resolved auto-close ---------------------------------------------
def test_resolved_case_closes_after_the_configured_time_and_buttons_expire(
        service: CaseService, sweeper: Sweeper, clock: ManualClock,
        uow_factory: SqlUnitOfWorkFactory) -> None:
    seller_id, case = open_case(service)
    service.agent_reply(case.number, "U1", "Refunded", "Ann")
    service.change_status(case.number, "resolved")
    start = clock.now()
    # The rating prompt was delivered: the platform gave it message id 555.
    with uow_factory() as uow:
        [prompt] = [r for r in uow.session.scalars(select(OutboxRow)) if r.kind == ob.SELLER_MESSAGE
                    and r.payload["reply"]["buttons"]]
        prompt.status, prompt.platform_message_id = "sent", "555"
        uow.commit()

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
    # Closed before the window ended: the expiry sweep has nothing left to do.
    clock.advance(days=3)
    assert sweeper.expire_evaluations() == 0


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
