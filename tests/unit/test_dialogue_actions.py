"""Reopen (rule 3), urgent and keep-open (rule 5), talk to a human."""

from __future__ import annotations

from bot.cases import CaseService
from bot.clock import ManualClock
from tests.unit import chat_harness
from tests.unit.chat_harness import Chat

# Fixtures shared by the conversation tests.
chat = chat_harness.chat
engine = chat_harness.engine

ORDER = "123-1234567-1234567"
ORDER2 = "240518K7QW93XZ"


async def open_case(chat: Chat, text: str = f"my order {ORDER} never arrived, the buyer is "
                                             "waiting since Monday") -> None:
    await chat.say(text)
    if "It's a new issue" in chat.buttons:  # mid-conversation: yes, it is a new issue
        await chat.press("It's a new issue")
    await chat.press("Open the case")


async def test_reopen_closed_case_gets_a_linked_number(chat: Chat, service: CaseService,
                                                      clock: ManualClock) -> None:
    await open_case(chat)
    service.change_status("CX-000001", "closed")
    clock.advance(days=2)
    await chat.say("please reopen CX-000001")
    chat.expect("Reopened as CX-000002 (linked to CX-000001)")
    new = service.get_case("CX-000002")
    assert new.reopened_from == "CX-000001"
    assert service.get_case("CX-000001").reopened_as == "CX-000002"
    await chat.say("status CX-000001")
    chat.expect("Reopened as CX-000002")


async def test_reopen_without_number_uses_the_only_candidate(chat: Chat, service: CaseService,
                                                             clock: ManualClock) -> None:
    await open_case(chat)
    service.change_status("CX-000001", "resolved")
    clock.advance(days=2)
    await chat.say("I want to reopen my case, the parcel is still missing and the buyer is angry")
    chat.expect("CX-000001 is back in progress")
    detail = service.get_case("CX-000001")
    assert detail.case.status == "investigating"
    assert "buyer is angry" in detail.messages[-1].text


async def test_reopen_asks_which_when_several(chat: Chat, service: CaseService,
                                              clock: ManualClock) -> None:
    await open_case(chat)
    await open_case(chat, f"the buyer wants a refund for {ORDER2} but the button fails")
    service.change_status("CX-000001", "closed")
    service.change_status("CX-000002", "closed")
    clock.advance(days=2)
    await chat.say("reopen")
    chat.expect("Which case should I reopen?")
    await chat.press("Reopen CX-000002")
    chat.expect("Reopened as CX-000003 (linked to CX-000002)")


async def test_reopen_declined_is_refused(chat: Chat, service: CaseService) -> None:
    await open_case(chat)
    service.change_status("CX-000001", "declined", reason="policy")
    await chat.say("reopen CX-000001")
    chat.expect("declined with no further action")
    assert len(service.search_cases()) == 1


async def test_reopen_in_progress_case(chat: Chat) -> None:
    await open_case(chat)
    await chat.say("reopen CX-000001")
    chat.expect("still in progress")


async def test_flag_urgent(chat: Chat, service: CaseService) -> None:
    await open_case(chat)
    await chat.say("this is urgent, the buyer threatens a chargeback")
    chat.expect("CX-000001 is flagged urgent", "within 4 hours")
    assert service.get_case("CX-000001").case.urgent


async def test_flag_urgent_by_button_after_opening(chat: Chat, service: CaseService) -> None:
    await chat.say(f"my order {ORDER} never arrived, the buyer is waiting since Monday")
    await chat.press("Open the case")
    await chat.press("Flag urgent")
    chat.expect("flagged urgent")
    assert service.get_case("CX-000001").case.urgent


async def test_urgent_on_closed_case_is_refused(chat: Chat, service: CaseService) -> None:
    await open_case(chat)
    service.change_status("CX-000001", "closed")
    await chat.send(button="urgent:CX-000001", text="Flag urgent")
    chat.expect("no longer open")


async def test_keep_open(chat: Chat, service: CaseService) -> None:
    await open_case(chat)
    await chat.say("I need more time for CX-000001")
    chat.expect("in progress; it won't be closed")
    service.change_status("CX-000001", "pending")
    await chat.say("I need more time to collect the invoices")
    chat.expect("CX-000001 will stay open until")
    await chat.press("My cases")  # buttons of the reply keep working
    await chat.press("CX-000001")
    await chat.press("Keep open")
    chat.expect("will stay open until")
    await chat.say("I need more time for CX-000001")
    chat.expect("already been kept open")


async def test_talk_to_a_human(chat: Chat, service: CaseService) -> None:
    await open_case(chat)
    await chat.say("I want to talk to a human")
    chat.expect("I've asked a person from our team to take over CX-000001", "24 hours")
    assert service.get_case("CX-000001").case.needs_human


async def test_talk_to_a_human_without_a_case_opens_one(chat: Chat, service: CaseService) -> None:
    await chat.say("real person please")
    chat.expect("I'll open a case and a person")
    await chat.press("Orders")
    await chat.say(ORDER)
    await chat.say("The buyer received the wrong colour and wants an exchange.")
    await chat.press("Open the case")
    chat.expect("Opened CX-000001", "asked a person")
    assert service.get_case("CX-000001").case.needs_human


async def test_actions_without_cases(chat: Chat) -> None:
    await chat.say("reopen")
    chat.expect("no resolved or closed cases")
    await chat.say("urgent")
    chat.expect("no open cases to flag urgent")
    await chat.say("more time")
    chat.expect("None of your cases is waiting")


async def test_scheduler_reminder_buttons(chat: Chat, service: CaseService,
                                          clock: ManualClock) -> None:
    """The pending-case reminder the scheduler sends: both its buttons work in the chat."""
    from bot.sweeps import Sweeper
    from storage.sweeps import SqlSweepStore

    await open_case(chat)
    service.change_status("CX-000001", "pending", reason="need the invoice")
    clock.advance(hours=25)
    assert Sweeper(service, SqlSweepStore()).remind_pending() == 1
    await chat.press("I need more time")
    chat.expect("CX-000001")
    assert service.get_case("CX-000001").case.keep_open_count == 1
    await chat.press("Reply now")
    chat.expect("Go ahead: what you write next goes to CX-000001")
    await chat.say("Here is the invoice number INV-2231 you asked for, sent yesterday")
    detail = service.get_case("CX-000001")
    assert detail.case.status == "investigating"
    assert "INV-2231" in detail.messages[-1].text
