"""The seller reads a case back in the chat: ``/case CX-…`` and "Show conversation" give the
whole conversation in order, a page at a time with "Older"; both sides, files by name, the
links (reopened from / as), the rating, and agent replies marked new once, then read."""

from __future__ import annotations

import re

from bot.cases import CaseService
from bot.clock import ManualClock
from bot.dialogue import history
from storage.uow import SqlUnitOfWorkFactory
from tests.unit import chat_harness
from tests.unit.chat_harness import Chat

chat = chat_harness.chat
engine = chat_harness.engine

ORDER = "123-1234567-1234567"
NEVER_ARRIVED = f"my order {ORDER} never arrived, the buyer is waiting since Monday"


async def open_case(chat: Chat, text: str = NEVER_ARRIVED) -> str:
    await chat.say(text)
    if "It's a new issue" in chat.buttons:
        await chat.press("It's a new issue")
    await chat.press("Open the case")
    found = re.search(r"CX-\d{6}", chat.text)
    assert found, chat.text
    return found.group(0)


def seller_id(service: CaseService, chat: Chat) -> int:
    _ident, seller = service.identify(chat.channel, chat.user)
    assert seller is not None
    return seller.id


def in_order(text: str, *fragments: str) -> None:
    """Each fragment appears in ``text``, in this order."""
    positions = [text.index(f) for f in fragments]
    assert positions == sorted(positions), f"out of order: {fragments}\n{text}"


async def test_case_command_shows_both_sides_in_order_and_marks_new_replies_read(
        chat: Chat, service: CaseService, clock: ManualClock) -> None:
    number = await open_case(chat)
    clock.advance(hours=2)
    service.agent_reply(number, "agent1", "We asked the carrier. Could you send the tracking?")
    service.change_status(number, "pending")
    clock.advance(hours=1)
    service.add_seller_message(seller_id(service, chat), number, "Tracking is TRK-55521, thanks")
    clock.advance(hours=1)
    service.agent_reply(number, "agent1", "The carrier found the parcel; it arrives Friday.")
    service.internal_note(number, "agent1", "carrier ticket 8812, do not share")

    await chat.command("case", number)
    chat.expect(f"{number} · Shipping · {ORDER}: In progress", "Updated (2 new)",
                "Conversation, 1–6 of 6:")
    in_order(chat.text, "You · Jan 5 9:00\u202fAM UTC", "never arrived",
             "Ceylexo support · Jan 5 11:00\u202fAM UTC · 🆕 new", "Could you send the tracking?",
             "Status: Waiting for you",
             "You · Jan 5 12:00\u202fPM UTC", "TRK-55521",
             "Status: In progress",
             "Ceylexo support · Jan 5 1:00\u202fPM UTC · 🆕 new", "arrives Friday")
    chat.expect_not("carrier ticket 8812")  # notes are for agents only
    assert "Older" not in chat.buttons  # one page
    chat.expect_buttons("Flag urgent", "Talk to a person", "Close this case")

    await chat.command("case", number)  # read now: nothing is new any more
    chat.expect("arrives Friday")
    chat.expect_not("🆕")
    assert service.list_cases(seller_id(service, chat))[0].unread == 0


async def test_older_pages_back_to_the_start_stay_put_when_a_reply_arrives(
        chat: Chat, service: CaseService, clock: ManualClock) -> None:
    number = await open_case(chat)  # message 1
    seller = seller_id(service, chat)
    for i in range(2, 21):
        clock.advance(minutes=10)
        if i % 2:
            service.add_seller_message(seller, number, f"seller note {i:02d}")
        else:
            service.agent_reply(number, "agent1", f"agent answer {i:02d}")
    await chat.command("case", number)
    # Ten unread replies all fit the first page, which stretches back to the oldest of them.
    chat.expect("Conversation, 2–20 of 20:", "agent answer 02", "agent answer 20")
    chat.expect_not("never arrived")
    await chat.press("Older")
    chat.expect(f"{number}, earlier in the conversation (1–1 of 20):", "never arrived")
    chat.expect_not("agent answer 02")
    assert "Older" not in chat.buttons

    await chat.command("case", number)  # read now: the newest page is eight entries
    chat.expect("Conversation, 13–20 of 20:")
    in_order(chat.text, "seller note 13", "agent answer 14", "agent answer 20")
    chat.expect_not("seller note 11")
    clock.advance(minutes=5)
    service.agent_reply(number, "agent1", "agent answer 21")  # arrives while paging back
    await chat.press("Older")
    chat.expect("earlier in the conversation (5–12 of 21):")
    in_order(chat.text, "seller note 05", "agent answer 06", "seller note 11", "agent answer 12")
    chat.expect_not("seller note 13", "agent answer 04")
    await chat.press("Older")
    chat.expect("(1–4 of 21)", "never arrived", "agent answer 04")
    assert "Older" not in chat.buttons


async def test_show_conversation_button_from_the_status_answer(
        chat: Chat, service: CaseService) -> None:
    number = await open_case(chat)
    service.agent_reply(number, "agent1", "Please send a photo of the label.")
    await chat.say(f"status of {number}?")
    chat.expect("Please send a photo of the label")
    await chat.press("Show conversation")
    chat.expect("Conversation, 1–2 of 2:", "never arrived", "Please send a photo of the label")


async def test_files_of_both_sides_are_named(chat: Chat, service: CaseService,
                                             uow_factory: SqlUnitOfWorkFactory,
                                             clock: ManualClock) -> None:
    number = await open_case(chat)
    clock.advance(minutes=5)
    service.add_seller_message(seller_id(service, chat), number, "here is the damaged box",
                               [{"kind": "photo", "file_id": "ph-box", "file_name": "box.jpg"}])
    clock.advance(minutes=5)
    with uow_factory() as uow:  # an agent's file, as the agents' side stores it
        case = uow.cases.get_by_number(number)
        assert case is not None
        uow.messages.add(case.id, "agent", "agent1", "Bo", "The return label is attached.",
                         [{"kind": "document", "file_id": "doc-1", "file_name": "label.pdf"}],
                         False, clock.now())
        uow.commit()
    await chat.command("case", number)
    in_order(chat.text, "here is the damaged box", "📎 box.jpg",
             "The return label is attached.", "📎 label.pdf")


async def test_links_both_ways_and_the_rating(chat: Chat, service: CaseService,
                                              clock: ManualClock) -> None:
    number = await open_case(chat)
    service.change_status(number, "resolved")
    service.evaluate(seller_id(service, chat), number, "like")
    service.change_status(number, "closed")
    clock.advance(hours=1)
    await chat.say(f"please reopen {number}, the parcel went missing again")
    chat.expect("Reopened as CX-000002")

    await chat.command("case", "CX-000002")
    chat.expect(f"Reopened from {number}.", "No reply from our team yet")
    await chat.press(f"Show {number}")
    chat.expect(f"{number} · Shipping", "Reopened as CX-000002.", "Your rating: Worthy of a Like",
                "Status: Resolved", "Status: Closed")
    in_order(chat.text, "never arrived", "9:00\u202fAM UTC · Status: Resolved",
             "9:00\u202fAM UTC · Status: Closed", "10:00\u202fAM UTC · Reopened as CX-000002")
    chat.expect_buttons("Show CX-000002")


async def test_a_declined_case_shows_its_reason(chat: Chat, service: CaseService) -> None:
    number = await open_case(chat)
    service.change_status(number, "declined", reason="the order was cancelled by the buyer")
    await chat.command("case", number)
    chat.expect("Status: Declined (the order was cancelled by the buyer)")
    assert not {"Close this case", "Flag urgent"} & set(chat.buttons)


async def test_a_long_conversation_page_is_split_under_the_chat_limit(
        chat: Chat, service: CaseService, clock: ManualClock) -> None:
    number = await open_case(chat)
    for i in range(4):
        clock.advance(minutes=1)
        service.agent_reply(number, "agent1", f"part {i} " + "lorem ipsum " * 300)
    await chat.command("case", number)
    assert len(chat.replies) >= 2
    assert all(len(r.text) <= history.REPLY_CHARS for r in chat.replies)
    assert all(f"part {i} " in chat.text for i in range(4))
    assert chat.replies[-1].buttons and not chat.replies[0].buttons  # buttons come last


async def test_another_sellers_case_cannot_be_read(chat: Chat, service: CaseService,
                                                  uow_factory: SqlUnitOfWorkFactory) -> None:
    other = Chat(chat.engine, uow_factory, user="200", name="Bob")
    chat_harness.register(service, other, "Bob's Shop")
    number = await open_case(other)
    await chat.command("case", number)
    chat.expect(f"I can't find {number} among your cases")
    await chat.send(button=f"conv:{number}:3", text="Older")
    chat.expect(f"I can't find {number} among your cases")
    chat.expect_not("never arrived")


async def test_a_lower_rating_shows_with_its_reason(chat: Chat, service: CaseService) -> None:
    number = await open_case(chat)
    service.change_status(number, "resolved")
    service.evaluate(seller_id(service, chat), number, "so_so", "took four days",
                     "slow_reply")
    await chat.command("case", number)
    chat.expect(f"{number} · Shipping · {ORDER}: Resolved",
                "Your rating: So-so · Slow reply (“took four days”)")
