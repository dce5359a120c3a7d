"""Slack retries an event it got no 2xx for. If the desk's work on an event fails after the
event was claimed, or its process died, the retry must be processed, not dropped as a
duplicate: otherwise the agent's reply is lost without a word."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from bot.agent_desk import AgentDesk
from bot.cases import CaseRules, CaseService
from bot.clock import ManualClock
from bot.inbound_claims import EventInProgress
from bot.messages import AgentMessage
from bot.relay import Relay
from storage.uow import SqlUnitOfWorkFactory
from tests.integration.test_agent_desk import case_in_thread, seller_items


class DatabaseWentAway(ConnectionError):
    """What a dropped database connection looks like to the desk: not a rule refusal."""


class FlakyCases(CaseService):
    """The real case rules, except that the next ``failures`` calls of ``method`` fail
    before doing anything (as a lost connection would)."""

    def __init__(self, *args: Any, method: str, failures: int = 1) -> None:
        super().__init__(*args)
        self.method = method
        self.failures = failures

    def _maybe_fail(self, method: str) -> None:
        if method == self.method and self.failures > 0:
            self.failures -= 1
            raise DatabaseWentAway("server closed the connection unexpectedly")

    def agent_reply(self, *args: Any, **kwargs: Any) -> Any:
        self._maybe_fail("agent_reply")
        return super().agent_reply(*args, **kwargs)

    def agent_edit(self, *args: Any, **kwargs: Any) -> Any:
        self._maybe_fail("agent_edit")
        return super().agent_edit(*args, **kwargs)

    def change_status(self, *args: Any, **kwargs: Any) -> Any:
        self._maybe_fail("change_status")
        return super().change_status(*args, **kwargs)


@pytest.fixture
def parts(uow_factory: SqlUnitOfWorkFactory, relay: Relay, rules: CaseRules,
          clock: ManualClock) -> tuple[Any, ...]:
    return uow_factory, relay, rules, clock


def test_a_thread_reply_that_failed_is_processed_on_the_retry(
        service: CaseService, uow_factory: SqlUnitOfWorkFactory, parts: tuple[Any, ...]) -> None:
    number = case_in_thread(service, uow_factory)
    desk = AgentDesk(FlakyCases(*parts, method="agent_reply"), uow_factory)
    msg = AgentMessage("U7", "Refund is on its way", thread_ref="C1:100.1", agent_name="Ann",
                       platform_message_id="100.2", event_id="EvFLAKY1")

    with pytest.raises(DatabaseWentAway):
        desk.thread_message(msg)  # bolt answers 500: Slack will retry
    assert seller_items(uow_factory) == []

    assert desk.thread_message(msg).action == "reply"  # the retry
    assert desk.thread_message(msg).action == "duplicate"  # and only once
    [(_, payload)] = seller_items(uow_factory)
    assert payload["reply"] == {"text": f"💬 {number}: Refund is on its way", "buttons": [],
                                "case_number": number}


def test_an_edit_that_failed_is_processed_on_the_retry(
        service: CaseService, uow_factory: SqlUnitOfWorkFactory, parts: tuple[Any, ...]) -> None:
    case_in_thread(service, uow_factory)
    desk = AgentDesk(FlakyCases(*parts, method="agent_edit"), uow_factory)
    desk.thread_message(AgentMessage("U7", "Refund tomorow", thread_ref="C1:100.1",
                                     platform_message_id="100.2", event_id="EvFLAKY2"))
    edit = AgentMessage("U7", "Refund tomorrow", thread_ref="C1:100.1",
                        platform_message_id="100.2", edited=True, event_id="EvFLAKY3")

    with pytest.raises(DatabaseWentAway):
        desk.thread_edit(edit)
    assert desk.thread_edit(edit).action == "edit"
    assert desk.thread_edit(edit).action == "duplicate"
    assert [payload.get("text") for kind, payload in seller_items(uow_factory)
            if kind == "seller.edit"] == ["💬 CX-000001: Refund tomorrow"]


def test_a_button_press_that_failed_is_processed_on_the_retry(
        service: CaseService, uow_factory: SqlUnitOfWorkFactory, parts: tuple[Any, ...]) -> None:
    number = case_in_thread(service, uow_factory)
    desk = AgentDesk(FlakyCases(*parts, method="change_status"), uow_factory)

    with pytest.raises(DatabaseWentAway):
        desk.button(number, "status", "investigating", "U7", event_id="action:1.5")
    assert desk.button(number, "status", "investigating", "U7",
                       event_id="action:1.5").action == "status"
    assert desk.button(number, "status", "investigating", "U7",
                       event_id="action:1.5").action == "duplicate"
    assert service.get_case(number).case.status == "investigating"


def test_a_refusal_is_an_answer_not_a_failure(
        service: CaseService, uow_factory: SqlUnitOfWorkFactory) -> None:
    """A rule that says no is final: the retry of that event stays a duplicate."""
    number = case_in_thread(service, uow_factory)
    service.change_status(number, "declined", reason="outside policy")
    desk = AgentDesk(service, uow_factory)
    msg = AgentMessage("U7", "One more thing", thread_ref="C1:100.1", event_id="EvREFUSED")

    assert desk.thread_message(msg).action == "refused"
    assert desk.thread_message(msg).action == "duplicate"


def test_a_reply_whose_process_died_after_the_claim_is_processed_once_after_the_lease(
        service: CaseService, uow_factory: SqlUnitOfWorkFactory, clock: ManualClock) -> None:
    number = case_in_thread(service, uow_factory)
    desk = AgentDesk(service, uow_factory, lease=timedelta(seconds=30))
    msg = AgentMessage("U7", "Refund is on its way", thread_ref="C1:100.1", agent_name="Ann",
                       platform_message_id="100.2", event_id="EvKILLED")
    # A process claimed the event, then was killed before the reply was saved.
    with uow_factory() as uow:
        assert uow.inbound.claim("slack", "EvKILLED", clock.now(), timedelta(seconds=30))
        uow.commit()
    # Slack's retry while that lease is live must not be acknowledged as done...
    with pytest.raises(EventInProgress):
        desk.thread_message(msg)
    assert seller_items(uow_factory) == []
    # ...its retry after the lease is processed, and a later one is a replay.
    clock.advance(timedelta(seconds=31))
    assert desk.thread_message(msg).action == "reply"
    assert desk.thread_message(msg).action == "duplicate"
    [(_, payload)] = seller_items(uow_factory)
    assert payload["reply"]["text"] == f"💬 {number}: Refund is on its way"


def test_a_refused_button_press_is_done_and_not_repeated(
        service: CaseService, uow_factory: SqlUnitOfWorkFactory) -> None:
    number = case_in_thread(service, uow_factory)
    desk = AgentDesk(service, uow_factory)
    refused = desk.button(number, "status", "no-such-status", "U7", event_id="EvREFUSED")
    assert refused.action == "refused"
    # Nothing was written, but the press was answered: its redelivery is a replay.
    assert desk.button(number, "status", "no-such-status", "U7",
                       event_id="EvREFUSED").action == "duplicate"
