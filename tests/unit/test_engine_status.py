"""Check, don't ask (rule 2): status by number, the active list, Updated marks, search."""

from __future__ import annotations

from bot.cases import CaseService
from bot.clock import ManualClock
from storage.uow import SqlUnitOfWorkFactory
from tests.unit import chat_harness
from tests.unit.chat_harness import Chat, register

# Fixtures shared by the conversation tests.
chat = chat_harness.chat
engine = chat_harness.engine

ORDER = "123-1234567-1234567"
ORDER2 = "240518K7QW93XZ"


async def open_case(chat: Chat, text: str) -> None:
    await chat.say(text)
    if "It's a new issue" in chat.buttons:  # mid-conversation: yes, it is a new issue
        await chat.press("It's a new issue")
    await chat.press("Open the case")


async def test_any_update_lists_active_cases_with_updated_mark(chat: Chat, service: CaseService,
                                                               clock: ManualClock) -> None:
    await open_case(chat, f"my order {ORDER} never arrived, the buyer is waiting since Monday")
    clock.advance(hours=1)
    await open_case(chat, f"the buyer wants a refund for {ORDER2} but the button fails")
    clock.advance(hours=1)
    service.agent_reply("CX-000001", "agent1", "The carrier has located the parcel.")
    clock.advance(hours=1)
    await chat.say("any update?")
    chat.expect("Your active cases (2)", "CX-000001", "CX-000002", "In progress",
                "Updated (1 new)", "The carrier has located the parcel")
    assert chat.text.index("CX-000001") < chat.text.index("CX-000002")  # newest activity first
    chat.expect_buttons("CX-000001", "CX-000002")
    assert service.list_cases(chat_seller(service, chat))[0].unread == 0  # marked read
    await chat.say("any update?")
    chat.expect_not("Updated")
    assert len(service.search_cases()) == 2  # never a new case


def chat_seller(service: CaseService, chat: Chat) -> int:
    ident, seller = service.identify(chat.channel, chat.user)
    assert seller is not None
    return seller.id


async def test_status_of_one_case_by_number(chat: Chat, service: CaseService) -> None:
    await open_case(chat, f"my order {ORDER} never arrived, the buyer is waiting since Monday")
    service.change_status("CX-000001", "pending")
    service.agent_reply("CX-000001", "agent1", "Please send the tracking number.")
    await chat.say("status of cx-1?")
    chat.expect("CX-000001", "Waiting for you", "Please send the tracking number", "Updated (1 new)")
    chat.expect_buttons("Flag urgent", "Keep open")
    await chat.say("cx 1")
    chat.expect("Waiting for you")
    chat.expect_not("Updated")


async def test_case_command_and_button(chat: Chat, service: CaseService) -> None:
    await open_case(chat, f"my order {ORDER} never arrived, the buyer is waiting since Monday")
    await chat.command("case", "cx-000001")
    chat.expect("CX-000001", "In progress", "No reply from our team yet")
    await chat.command("cases")
    await chat.press("CX-000001")
    chat.expect("No reply from our team yet")
    await chat.command("case", "banana")
    chat.expect("doesn't look like a case number")


async def test_search_by_order_id_and_title(chat: Chat, service: CaseService) -> None:
    await open_case(chat, f"my order {ORDER} never arrived, the buyer is waiting since Monday")
    service.change_status("CX-000001", "closed")
    await chat.say(f"what is the status for {ORDER}")
    chat.expect("Cases matching", "CX-000001", "Closed")
    await chat.command("cases", "shipping")
    chat.expect("CX-000001")
    await chat.command("cases", "payments")
    chat.expect('No cases match "payments"')


async def test_no_cases(chat: Chat) -> None:
    await chat.say("any update?")
    chat.expect("You have no active cases")


async def test_another_sellers_case_is_not_found(chat: Chat, service: CaseService,
                                                 uow_factory: SqlUnitOfWorkFactory) -> None:
    other = Chat(chat.engine, uow_factory, user="200", name="Bob")
    register(service, other, "Bob's Shop")
    await open_case(other, f"my order {ORDER} never arrived, the buyer is waiting since Monday")
    await chat.say("status of CX-000001")
    chat.expect("I can't find CX-000001 among your cases")
    await chat.say("CX-000099")
    chat.expect("I can't find CX-000099 among your cases")  # same words: nothing is revealed
    await chat.command("case", "CX-000001")
    chat.expect("I can't find CX-000001 among your cases")
    await chat.say("please reopen CX-000001")
    chat.expect("I can't find CX-000001 among your cases")
    await chat.send(button="urgent:CX-000001", text="Flag urgent")
    chat.expect("I can't find CX-000001 among your cases")
    await chat.say("CX-000001 here is more information about my problem")
    chat.expect("I can't find CX-000001 among your cases")
    assert len(service.get_case("CX-000001").messages) == 1


async def test_sub_account_does_not_see_main_accounts_cases(chat: Chat, service: CaseService,
                                                            uow_factory: SqlUnitOfWorkFactory) -> None:
    main_id = chat_seller(service, chat)
    await open_case(chat, f"my order {ORDER} never arrived, the buyer is waiting since Monday")
    sub = Chat(chat.engine, uow_factory, user="300", name="Sub")
    register(service, sub, "Acme EU", sub_of=main_id)
    await sub.say("any update?")
    sub.expect("You have no active cases")
    await sub.say("status CX-000001")
    sub.expect("I can't find CX-000001")
