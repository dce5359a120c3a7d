"""The main paths with the real Rasa model: open a case, duplicate detected, status check,
reopen, evaluation. Driven through the engine entry point on a real database.

Uses the ``rasa_url`` fixture (tests/rasa_fixtures.py starts the trained model); with
FRONTDOOR_NLU_URL set, that server is used instead.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot import i18n
from bot.cases import CaseService
from bot.clock import ManualClock
from bot.relay import Relay
from nlu.client import RasaClassifier
from storage.uow import SqlUnitOfWorkFactory
from tests.unit.chat_harness import Chat, make_engine, register

pytestmark = pytest.mark.rasa

ORDER = "123-1234567-1234567"
ORDER2 = "240518K7QW93XZ"
LOST = f"my package to the buyer never arrived, tracking shows no movement for order {ORDER}"


@pytest.fixture
async def chat(rasa_url: str, service: CaseService, uow_factory: SqlUnitOfWorkFactory, relay: Relay,
               clock: ManualClock) -> AsyncIterator[Chat]:
    classifier = RasaClassifier(rasa_url)  # FRONTDOOR_NLU_URL's server when set
    c = Chat(make_engine(service, uow_factory, relay, clock, classifier=classifier), uow_factory)
    register(service, c)
    yield c
    await classifier.aclose()


async def open_lost_parcel_case(chat: Chat) -> None:
    await chat.say(LOST)
    chat.expect("I'll open this case", "Type: Shipping", f"Order: {ORDER}")
    await chat.say("yes")  # typed, read by the model as "affirm"
    chat.expect("Opened CX-000001")


async def test_open_a_case(chat: Chat, service: CaseService) -> None:
    await open_lost_parcel_case(chat)
    case = service.get_case("CX-000001").case
    assert case.case_type == "shipping" and case.order_id == ORDER


async def test_open_a_case_with_self_help_first(chat: Chat, service: CaseService) -> None:
    await chat.say("I have not received my disbursement for the last two weeks")
    chat.expect("Wondering when you'll be paid?")
    await chat.say("no")
    chat.expect("Which order")
    await chat.press("Not about one order")
    chat.expect("Type: Payments")
    await chat.press("Open the case")
    chat.expect("Opened CX-000001")


async def test_duplicate_detected(chat: Chat, service: CaseService, clock: ManualClock) -> None:
    await open_lost_parcel_case(chat)
    clock.advance(hours=30)
    await chat.say(f"shipment for order {ORDER} is stuck in transit for two weeks")
    chat.expect("already have a case on this issue", "CX-000001", "Shall I add")
    await chat.say("yes")
    chat.expect("Added to CX-000001")
    assert len(service.search_cases()) == 1


async def test_status_check(chat: Chat, service: CaseService, clock: ManualClock) -> None:
    await open_lost_parcel_case(chat)
    service.agent_reply("CX-000001", "agent1", "We opened an investigation with the carrier.")
    clock.advance(hours=2)
    await chat.say("any update on my case?")
    chat.expect("Your active cases (1)", "CX-000001", "In progress", "Updated (1 new)",
                "investigation with the carrier")
    await chat.say("any news on CX-000001?")
    chat.expect("CX-000001", "In progress")
    chat.expect_not("Updated")
    assert len(service.search_cases()) == 1


async def test_reopen(chat: Chat, service: CaseService, clock: ManualClock) -> None:
    await open_lost_parcel_case(chat)
    service.change_status("CX-000001", "closed")
    clock.advance(days=1)
    await chat.say("can you reopen my case CX-000001")
    chat.expect("Reopened as CX-000002 (linked to CX-000001)")
    assert service.get_case("CX-000002").reopened_from == "CX-000001"


async def test_evaluation(chat: Chat, service: CaseService) -> None:
    await open_lost_parcel_case(chat)
    service.change_status("CX-000001", "resolved")
    await chat.press("Very Disappointing")
    chat.expect("What could we have done better on CX-000001?")
    await chat.say("It took too long to get an answer from your team")
    chat.expect("Thanks for telling us")
    evaluation = service.get_case("CX-000001").evaluation
    assert evaluation is not None and evaluation.level == "disappointing"
    assert evaluation.reason == "It took too long to get an answer from your team"


async def test_hostile_input_with_the_real_model(chat: Chat, service: CaseService,
                                                 uow_factory: SqlUnitOfWorkFactory) -> None:
    # An English-speaking seller: the Chinese and Arabic lines below are hostile input, not
    # the first words that would tell a seller's language.
    _, seller = service.identify(chat.channel, chat.user, chat.user, chat.name)
    assert seller is not None
    service.set_preferences(seller.id, i18n.ENGLISH)
    # 100 KB: refused before the model or the database see it.
    await chat.say("x" * 100_000)
    chat.expect("too long", "limit is 4000")
    # Control characters only: an answer, nothing stored.
    assert await chat.say("\x00\x01\x02")
    # Emoji, Chinese, Arabic (right to left), SQL: each gets an answer, and the tables stand.
    for text in ("📦📦📦", "我的订单没有到，买家一直在等待", "طلبي لم يصل",
                 "'; DROP TABLE cases; --"):
        assert await chat.say(text), text
        await chat.say("cancel")
    assert service.search_cases() == []
    # A real case whose text is all of it at once, stored exactly (control characters gone).
    hostile = (f"my package to the buyer never arrived, tracking shows no movement for order "
               f"{ORDER} 📦 订单没有到 طلبي لم يصل\x07 '; DROP TABLE cases; --")
    await chat.say(hostile)
    chat.expect("I'll open this case", "Type: Shipping", f"Order: {ORDER}")
    await chat.press("Open the case")
    chat.expect("Opened CX-000001")
    stored = service.get_case("CX-000001").messages[0].text
    assert "\x07" not in stored and "DROP TABLE cases" in stored and "طلبي" in stored
    # Another seller's case number: not found, and nothing of it leaks.
    bob = Chat(chat.engine, uow_factory, user="200", name="Bob")
    register(service, bob, "Bob's Shop")
    await bob.say("what's the status of CX-000001?")
    bob.expect("I can't find CX-000001 among your cases")
    assert "订单" not in bob.text and "Shipping" not in bob.text
