"""``/cases``: the seller's cases with a status filter ("In progress / Closed / All") as
buttons and typed ("my closed cases"), newest first, with search by number, title or order;
and the "Updated" mark, set by a new agent reply and by a status change the seller has not
seen (seed 002)."""

from __future__ import annotations

import re

import pytest

from bot.cases import CaseService
from bot.clock import ManualClock
from bot.engine import Engine
from bot.relay import Relay
from storage.uow import SqlUnitOfWorkFactory
from tests.unit import chat_harness
from tests.unit.chat_harness import Chat, make_engine, register

engine = chat_harness.engine

ORDERS = ["123-1234567-1234567", "240518K7QW93XZ", "111-2222222-3333333", "222-3333333-4444444"]


@pytest.fixture
def chat(engine: Engine, uow_factory: SqlUnitOfWorkFactory, service: CaseService) -> Chat:
    c = Chat(engine, uow_factory)
    register(service, c)
    return c


def open_case(service: CaseService, chat: Chat, order: str) -> str:
    """A shipping case on ``order``, as intake opens it (intake has its own tests)."""
    result = service.open_case(chat_seller(service, chat), "shipping",
                               f"my order {order} never arrived, the buyer is waiting", order)
    return result.case.number


async def four_cases(chat: Chat, service: CaseService, clock: ManualClock) -> None:
    """CX-1 closed, CX-2 declined, CX-3 and CX-4 in progress (oldest activity first)."""
    for order in ORDERS:
        open_case(service, chat, order)
        clock.advance(hours=1)
    service.change_status("CX-000001", "closed")
    clock.advance(minutes=1)
    service.change_status("CX-000002", "declined", reason="not a marketplace order")
    clock.advance(minutes=1)


async def test_filters_as_buttons_newest_first(chat: Chat, service: CaseService,
                                               clock: ManualClock) -> None:
    await four_cases(chat, service, clock)
    await chat.command("cases")
    chat.expect("Your active cases (2):", "CX-000003", "CX-000004")
    assert chat.text.index("CX-000004") < chat.text.index("CX-000003")  # newest first
    # The two that ended since the seller last looked are news, listed after the active ones.
    chat.expect("Closed since you last looked:", "CX-000001", "CX-000002",
                "Updated (now Closed)", "Updated (now Declined)")
    chat.expect_buttons("Closed", "All")
    assert "In progress" not in chat.buttons

    await chat.press("Closed")
    chat.expect("Your closed and declined cases (2):", "CX-000002 · Shipping", "Declined",
                "CX-000001 · Shipping", "Closed")
    chat.expect_not("CX-000003", "Updated")  # seen now
    assert chat.text.index("CX-000002") < chat.text.index("CX-000001")
    chat.expect_buttons("In progress", "All")

    await chat.press("All")
    chat.expect("All your cases (4):")
    numbers = re.findall(r"CX-\d{6}(?= ·)", chat.text)
    assert numbers == ["CX-000002", "CX-000001", "CX-000004", "CX-000003"]

    await chat.press("In progress")
    chat.expect("Your active cases (2):")
    chat.expect_not("Closed since you last looked")  # already seen


async def test_typed_filters(chat: Chat, service: CaseService, clock: ManualClock) -> None:
    await four_cases(chat, service, clock)
    await chat.say("my closed cases")
    chat.expect("Your closed and declined cases (2):")
    await chat.say("show me all my cases")
    chat.expect("All your cases (4):")
    await chat.say("my open cases please")
    chat.expect("Your active cases (2):")
    await chat.command("cases", "closed")
    chat.expect("Your closed and declined cases (2):")
    await chat.command("cases", "All")
    chat.expect("All your cases (4):")


async def test_search_by_number_title_or_order_stays(chat: Chat, service: CaseService,
                                                    clock: ManualClock) -> None:
    await four_cases(chat, service, clock)
    await chat.command("cases", ORDERS[1])
    chat.expect(f'Cases matching "{ORDERS[1]}" (1):', "CX-000002", "Declined")
    await chat.command("cases", "cx-000001")
    chat.expect('Cases matching "cx-000001" (1):', "CX-000001", "Closed")
    await chat.command("cases", "shipping")
    chat.expect('Cases matching "shipping" (4):')
    await chat.command("cases", "payments")
    chat.expect('No cases match "payments"')


@pytest.mark.parametrize("typed", ["cx1", "CX 1", "#1", "ＣＸ－０００００１", "CX-000001号"])
async def test_search_by_a_case_number_written_any_way(chat: Chat, service: CaseService,
                                                       clock: ManualClock, typed: str) -> None:
    await four_cases(chat, service, clock)
    await chat.command("cases", typed)
    chat.expect(f'Cases matching "{typed}" (1):', "CX-000001", "Closed")
    chat.expect_not("CX-000002", "No cases match")


async def test_a_query_with_words_besides_a_case_number_searches_the_words(
        chat: Chat, service: CaseService, clock: ManualClock) -> None:
    await four_cases(chat, service, clock)
    await chat.command("cases", "cx1 never arrived")
    chat.expect('No cases match "cx1 never arrived"')


async def test_more_pages_of_cases(service: CaseService, uow_factory: SqlUnitOfWorkFactory,
                                   relay: Relay, clock: ManualClock) -> None:
    small = make_engine(service, uow_factory, relay, clock, list_limit=2)
    chat = Chat(small, uow_factory)
    register(service, chat)
    for order in ORDERS[:3]:
        open_case(service, chat, order)
        clock.advance(hours=1)
    await chat.say("any update?")
    chat.expect("Your active cases (1–2):", "CX-000003", "CX-000002")
    chat.expect_not("CX-000001")
    await chat.press("More")
    chat.expect("Your active cases (3–3):", "CX-000001")
    assert "More" not in chat.buttons


async def test_no_closed_cases_and_nothing_at_all(chat: Chat) -> None:
    await chat.command("cases")
    chat.expect("You have no active cases")
    await chat.press("Closed")
    chat.expect("You have no closed or declined cases.")
    await chat.press("All")
    chat.expect("You have no cases yet.")


async def test_updated_by_a_status_change_and_by_a_reply(chat: Chat, service: CaseService,
                                                         clock: ManualClock) -> None:
    open_case(service, chat, ORDERS[0])
    clock.advance(hours=1)
    await chat.say("any update?")
    chat.expect_not("Updated")  # nothing happened yet

    service.change_status("CX-000001", "pending")  # an agent waits for the seller
    clock.advance(minutes=5)
    await chat.say("any update?")
    chat.expect("CX-000001", "Waiting for you", "🆕 Updated (now Waiting for you)")
    await chat.say("any update?")
    chat.expect_not("Updated")  # seen

    service.add_seller_message(chat_seller(service, chat), "CX-000001",
                               "the tracking number is TRK-1")  # the seller's own change
    clock.advance(minutes=5)
    await chat.say("any update?")
    chat.expect("In progress")
    chat.expect_not("Updated")

    service.agent_reply("CX-000001", "agent1", "Thanks, checking with the carrier.")
    clock.advance(minutes=5)
    await chat.say("status of CX-000001")
    chat.expect("Updated (1 new)", "checking with the carrier")
    await chat.say("status of CX-000001")
    chat.expect_not("Updated")


async def test_an_auto_closed_case_is_news_in_the_default_list(
        chat: Chat, service: CaseService, clock: ManualClock) -> None:
    open_case(service, chat, ORDERS[0])
    service.change_status("CX-000001", "resolved")
    clock.advance(days=8)
    service.change_status("CX-000001", "closed", actor_kind="system", actor_ref="auto-close")
    await chat.say("any update?")
    chat.expect("You have no active cases", "Closed since you last looked:",
                "CX-000001", "Updated (now Closed)")
    await chat.say("any update?")
    chat.expect("You have no active cases")
    chat.expect_not("CX-000001")


def chat_seller(service: CaseService, chat: Chat) -> int:
    _ident, seller = service.identify(chat.channel, chat.user)
    assert seller is not None
    return seller.id
