"""Follow-ups: the ongoing case, platform replies to relayed messages, and "which case?"."""

from __future__ import annotations

from bot import outbox as ob
from bot.cases import CaseService
from bot.clock import ManualClock
from storage.uow import SqlUnitOfWorkFactory
from tests.unit import chat_harness
from tests.unit.chat_harness import Chat

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


async def test_message_in_the_ongoing_conversation_goes_to_the_case(chat: Chat,
                                                                    service: CaseService) -> None:
    await open_case(chat, f"my order {ORDER} never arrived, the buyer is waiting since Monday")
    await chat.say("I also checked with my warehouse and they shipped it on time")
    chat.expect("Added to CX-000001")
    await chat.photo("the label")
    chat.expect("Added to CX-000001")
    detail = service.get_case("CX-000001")
    assert [m.text for m in detail.messages][-2:] == [
        "I also checked with my warehouse and they shipped it on time", "the label"]
    assert detail.messages[-1].attachments


async def test_pending_case_goes_back_in_progress(chat: Chat, service: CaseService) -> None:
    await open_case(chat, f"my order {ORDER} never arrived, the buyer is waiting since Monday")
    service.change_status("CX-000001", "pending")
    await chat.say("here is the proof of shipment you asked for, sent last Tuesday")
    chat.expect("Added to CX-000001; it's back with our team")
    assert service.get_case("CX-000001").case.status == "investigating"


async def test_platform_reply_to_a_relayed_agent_message(chat: Chat, service: CaseService,
                                                         uow_factory: SqlUnitOfWorkFactory,
                                                         clock: ManualClock) -> None:
    await open_case(chat, f"my order {ORDER} never arrived, the buyer is waiting since Monday")
    clock.advance(hours=1)
    await open_case(chat, f"the buyer wants a refund for {ORDER2} but the button fails")
    _case, agent_msg = service.agent_reply("CX-000001", "agent1", "Which carrier did you use?")
    # The Telegram sender records where the reply landed (message 555 in the seller's chat).
    with uow_factory() as uow:
        uow.messages.add_ref(chat.channel, chat.user, "555", _case.id, agent_msg.id)
        uow.commit()
    await chat.say("DHL, the parcel left on time", reply_to_message_id="555",
                   platform_message_id="556")
    chat.expect("Added to CX-000001")
    assert service.get_case("CX-000001").messages[-1].text == "DHL, the parcel left on time"
    # ...and a reply to the seller's own message (556) finds the case too.
    clock.advance(hours=30)
    await chat.say("Sorry, it was UPS actually", reply_to_message_id="556")
    chat.expect("Added to CX-000001")


async def test_several_waiting_cases_ask_which(chat: Chat, service: CaseService,
                                               clock: ManualClock) -> None:
    await open_case(chat, f"my order {ORDER} never arrived, the buyer is waiting since Monday")
    await open_case(chat, f"the buyer wants a refund for {ORDER2} but the button fails")
    service.change_status("CX-000001", "pending")
    service.change_status("CX-000002", "pending")
    clock.advance(hours=30)  # the conversation is no longer "ongoing"
    await chat.say("I have attached the invoice they wanted")
    chat.expect("Which case is this about?")
    chat.expect_buttons("Add to CX-000001", "Add to CX-000002", "It's a new issue")
    await chat.press("Add to CX-000002")
    chat.expect("Added to CX-000002")
    assert service.get_case("CX-000002").messages[-1].text == "I have attached the invoice they wanted"


async def test_several_active_cases_and_an_unclear_message_ask_which(
        chat: Chat, service: CaseService, clock: ManualClock) -> None:
    await open_case(chat, f"my order {ORDER} never arrived, the buyer is waiting since Monday")
    await open_case(chat, f"the buyer wants a refund for {ORDER2} but the button fails")
    service.change_status("CX-000001", "investigating")
    service.change_status("CX-000002", "investigating")
    service.agent_reply("CX-000002", "agent1", "Could you send the invoice?")
    clock.advance(hours=30)  # no ongoing conversation, nothing pending
    await chat.say("I have attached the invoice they wanted")
    chat.expect("Which case is this about?")
    # The case with an unread agent reply is the likelier one: it comes first.
    chat.expect_buttons("Add to CX-000002", "Add to CX-000001", "It's a new issue")
    assert chat.buttons.index("Add to CX-000002") < chat.buttons.index("Add to CX-000001")
    await chat.press("Add to CX-000001")
    chat.expect("Added to CX-000001")
    assert service.get_case("CX-000001").messages[-1].text == "I have attached the invoice they wanted"


async def test_which_case_answered_with_new_issue(chat: Chat, service: CaseService,
                                                  clock: ManualClock) -> None:
    await open_case(chat, f"my order {ORDER} never arrived, the buyer is waiting since Monday")
    service.change_status("CX-000001", "pending")
    clock.advance(hours=30)
    await chat.say("I have a question about something entirely different")
    await chat.press("It's a new issue")
    chat.expect("What is it about?")
    await chat.press("Something else")
    chat.expect("I'll open this case", "entirely different")


async def test_which_case_answered_by_typing_the_number(chat: Chat, service: CaseService,
                                                        clock: ManualClock) -> None:
    await open_case(chat, f"my order {ORDER} never arrived, the buyer is waiting since Monday")
    await open_case(chat, f"the buyer wants a refund for {ORDER2} but the button fails")
    service.change_status("CX-000001", "pending")
    service.change_status("CX-000002", "pending")
    clock.advance(hours=30)
    await chat.say("I have attached the invoice they wanted")
    await chat.say("cx-1")
    chat.expect("Added to CX-000001")


async def test_case_number_in_text_routes_there(chat: Chat, service: CaseService,
                                                clock: ManualClock) -> None:
    await open_case(chat, f"my order {ORDER} never arrived, the buyer is waiting since Monday")
    clock.advance(hours=30)
    await chat.say("CX-000001: the buyer has now left negative feedback as well")
    chat.expect("Added to CX-000001")


async def test_follow_up_to_a_closed_case_offers_reopen(chat: Chat, service: CaseService) -> None:
    await open_case(chat, f"my order {ORDER} never arrived, the buyer is waiting since Monday")
    service.change_status("CX-000001", "closed")
    await chat.say("CX-000001 the problem is back, the buyer wrote again today")
    chat.expect("CX-000001 is closed")
    await chat.press("Reopen CX-000001")
    chat.expect("Reopened as CX-000002")


async def test_agent_side_sees_the_follow_up(chat: Chat, service: CaseService,
                                             uow_factory: SqlUnitOfWorkFactory) -> None:
    await open_case(chat, f"my order {ORDER} never arrived, the buyer is waiting since Monday")
    await chat.say("the buyer just wrote that the box was empty, see the photo")
    chat.expect("Is this about CX-000001, or a new issue?")  # reads like an order problem
    await chat.press("Add to CX-000001")
    from sqlalchemy import select

    from storage.models import OutboxRow
    with uow_factory() as uow:
        posts = [r.payload["text"] for r in uow.session.scalars(
            select(OutboxRow).where(OutboxRow.kind == ob.THREAD_POST))]
    assert "the buyer just wrote that the box was empty, see the photo" in posts


async def test_other_type_mid_conversation_goes_through_intake(chat: Chat,
                                                               service: CaseService) -> None:
    # Issue 11: a type unrelated to the ongoing case's is clearly another issue: intake (and
    # its duplicate check), not "Added to" nor a question (this test used to expect one).
    await open_case(chat, f"my order {ORDER} never arrived, the buyer is waiting since Monday")
    await chat.say("separately, my disbursement of last week is missing from my bank account")
    chat.expect("Wondering when you'll be paid?")  # payment intake, with its article
    chat.expect_not("Added to", "CX-000001")
    assert len(service.get_case("CX-000001").messages) == 1
