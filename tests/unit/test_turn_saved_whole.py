"""A seller's turn is saved whole or not at all (storage.turn_transaction): when its answer
cannot be saved, or a flow fails after its work, nothing of the turn stays, and the platform's
redelivery runs it from the start and answers as the first attempt would have."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.cases import CaseService
from bot.clock import ManualClock
from bot.relay import Relay
from bot.texts import t
from storage.uow import SqlUnitOfWorkFactory
from tests.fakes import FakeClassifier
from tests.unit.chat_harness import RULES, Chat, make_engine, register
from tests.unit.redelivery_helpers import (
    ORDER,
    TEXT,
    break_the_first_reply,
    case_count,
    chat_for,
    claims_of,
    fails_after_saving,
)


async def test_an_answer_lost_after_opening_the_case_loses_the_case_too_and_the_redelivery_opens_it(
        service: CaseService, uow_factory: SqlUnitOfWorkFactory, relay: Relay,
        clock: ManualClock, monkeypatch: pytest.MonkeyPatch) -> None:
    """The turn's work and answer are one transaction. When they were two, the redelivery
    ran the turn again against its own saved work and told the seller their case "is already
    open" instead of "opened"."""
    chat = chat_for(service, uow_factory, relay, clock, FakeClassifier(dict(RULES), default=None))
    await chat.say(TEXT)
    break_the_first_reply(relay, monkeypatch, ConnectionError)
    with pytest.raises(ConnectionError):
        await chat.press("Open the case", event_id="tg-5005")
    # Nothing of the turn is saved, and the event is given back...
    assert case_count(uow_factory) == 0
    assert claims_of(uow_factory, "tg-5005") == 0
    # ...so the platform's redelivery (here after the lease a kill would have left) is the
    # turn from the start: the answer is the real one.
    clock.advance(timedelta(seconds=chat.engine.config.inbound_lease_seconds + 1))
    await chat.press("Open the case", event_id="tg-5005")
    chat.expect("Opened CX-000001")
    chat.expect_not("already")
    assert case_count(uow_factory) == 1
    assert await chat.press("Open the case", event_id="tg-5005") == []


async def test_an_answer_lost_after_a_follow_up_is_processed_once_by_the_redelivery(
        service: CaseService, uow_factory: SqlUnitOfWorkFactory, relay: Relay,
        clock: ManualClock, monkeypatch: pytest.MonkeyPatch) -> None:
    chat = chat_for(service, uow_factory, relay, clock, FakeClassifier(dict(RULES), default=None))
    await chat.say(TEXT)
    await chat.press("Open the case")
    detail = "the delivery driver says he left it at the door but nothing was there"
    break_the_first_reply(relay, monkeypatch, ConnectionError)
    with pytest.raises(ConnectionError):
        await chat.say(detail, event_id="tg-5006")
    assert [m.text for m in service.get_case("CX-000001").messages].count(detail) == 0
    answers_before = len(chat.outbox())

    await chat.say(detail, event_id="tg-5006")
    chat.expect("CX-000001")
    assert len(chat.outbox()) == answers_before + 1
    assert [m.text for m in service.get_case("CX-000001").messages].count(detail) == 1
    assert await chat.say(detail, event_id="tg-5006") == []  # now done


async def test_a_failed_flow_after_its_work_saves_only_the_apology(
        service: CaseService, uow_factory: SqlUnitOfWorkFactory, relay: Relay,
        clock: ManualClock, monkeypatch: pytest.MonkeyPatch) -> None:
    """A bug after the work: the seller is told, the work is not kept half-answered, and the
    event is given back, so a redelivery is processed in full."""
    chat = chat_for(service, uow_factory, relay, clock, FakeClassifier(dict(RULES), default=None))
    await chat.say(TEXT)
    await chat.press("Open the case")
    original = service.add_seller_message
    fails_after_saving(monkeypatch, service, "add_seller_message",
                        "failed after the message was saved")
    detail = "the delivery driver says he left it at the door but nothing was there"
    await chat.say(detail, event_id="tg-6006")
    chat.expect(t("engine.error"))
    assert claims_of(uow_factory, "tg-6006") == 0
    assert [m.text for m in service.get_case("CX-000001").messages].count(detail) == 0
    monkeypatch.setattr(service, "add_seller_message", original)
    await chat.say(detail, event_id="tg-6006")
    chat.expect("CX-000001")
    assert [m.text for m in service.get_case("CX-000001").messages].count(detail) == 1


async def test_asking_for_a_person_while_opening_is_saved_with_the_case_or_not_at_all(
        service: CaseService, uow_factory: SqlUnitOfWorkFactory, relay: Relay,
        clock: ManualClock, monkeypatch: pytest.MonkeyPatch) -> None:
    """The new case and the seller's request for a person are saved together: an attempt that
    fails right after the case is saved keeps neither, and the redelivery saves both once."""
    chat = chat_for(service, uow_factory, relay, clock, FakeClassifier(dict(RULES), default=None))
    await chat.say("real person please")
    await chat.press("Orders")
    await chat.say(ORDER)
    await chat.say("The buyer received the wrong colour and wants an exchange.")
    original = service.open_case
    fails_after_saving(monkeypatch, service, "open_case",
                        "the attempt failed right after the case was saved")
    await chat.press("Open the case", event_id="tg-9009")
    assert case_count(uow_factory) == 0

    monkeypatch.setattr(service, "open_case", original)
    await chat.press("Open the case", event_id="tg-9009")
    case = service.get_case("CX-000001").case
    assert case.needs_human
    assert [e.kind for e in service.get_case("CX-000001").events].count("needs_human") == 1


async def test_asking_for_a_person_on_a_case_a_double_tap_opened_is_saved_with_the_message(
        service: CaseService, uow_factory: SqlUnitOfWorkFactory, relay: Relay,
        clock: ManualClock, monkeypatch: pytest.MonkeyPatch) -> None:
    """Another device opened the case a moment earlier: the seller's words go into it, and
    their request for a person is saved in the same commit, or neither is."""
    chat = Chat(make_engine(service, uow_factory, relay, clock,
                            classifier=FakeClassifier(dict(RULES), default=None)), uow_factory)
    seller = register(service, chat)
    await chat.say("real person please")
    await chat.press("Orders")
    await chat.say(ORDER)
    description = "The buyer received the wrong colour and wants an exchange."
    await chat.say(description)
    other_device = service.open_case(seller.id, "order", "wrong colour", ORDER)
    assert other_device.created
    original = service.add_seller_message
    fails_after_saving(monkeypatch, service, "add_seller_message",
                        "the attempt failed right after the message was saved")
    await chat.press("Open the case", event_id="tg-9010")
    detail = service.get_case(other_device.case.number)
    assert not detail.case.needs_human
    assert [m.text for m in detail.messages].count(description) == 0

    monkeypatch.setattr(service, "add_seller_message", original)
    await chat.press("Open the case", event_id="tg-9010")
    detail = service.get_case(other_device.case.number)
    assert detail.case.needs_human
    assert [e.kind for e in detail.events].count("needs_human") == 1
    assert [m.text for m in detail.messages].count(description) == 1


@pytest.mark.parametrize(("rule", "reason"), [
    ("set_urgent", "this is really urgent pls, i need the money to pay my supplier"),
    ("keep_open", "please give me more time, I am waiting for the courier report next week"),
    ("request_human", "real person please, the courier lost two of my parcels this month"),
])
async def test_the_reason_typed_with_an_action_is_saved_with_it(
        rule: str, reason: str, service: CaseService, uow_factory: SqlUnitOfWorkFactory,
        relay: Relay, clock: ManualClock, monkeypatch: pytest.MonkeyPatch) -> None:
    """"Urgent", "keep it open" or "a person" with a reason: the action and the reason are
    saved together, so an attempt that fails right after the action keeps neither, and the
    redelivery saves both once."""
    chat = chat_for(service, uow_factory, relay, clock, FakeClassifier(dict(RULES), default=None))
    await chat.say(TEXT)
    await chat.press("Open the case")
    service.change_status("CX-000001", "pending")
    original = getattr(service, rule)
    fails_after_saving(monkeypatch, service, rule, "the attempt failed right after the action")
    await chat.say(reason, event_id="tg-9011")
    detail = service.get_case("CX-000001")
    assert not (detail.case.urgent or detail.case.keep_open_count or detail.case.needs_human)
    assert [m.text for m in detail.messages].count(reason) == 0

    monkeypatch.setattr(service, rule, original)
    await chat.say(reason, event_id="tg-9011")
    detail = service.get_case("CX-000001")
    assert detail.case.urgent or detail.case.keep_open_count == 1 or detail.case.needs_human
    assert [m.text for m in detail.messages].count(reason) == 1
