"""A seller closes or withdraws their own case ("close CX-000004", "I solved it myself", the
"Close this case" button): they confirm first, the case is closed, the thread is told."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot import outbox as ob
from bot.cases import CaseService
from bot.clock import ManualClock
from bot.dialogue import phrases
from storage.models import OutboxRow
from storage.uow import SqlUnitOfWorkFactory
from tests.unit import chat_harness
from tests.unit.chat_harness import Chat

chat = chat_harness.chat
engine = chat_harness.engine

ORDERS = ["123-1234567-1234567", "240518K7QW93XZ"]


def seller_id(service: CaseService, chat: Chat) -> int:
    _ident, seller = service.identify(chat.channel, chat.user)
    assert seller is not None
    return seller.id


def open_case(service: CaseService, chat: Chat, order: str, case_type: str = "shipping") -> str:
    """A case as intake opens it (intake has its own tests)."""
    return service.open_case(seller_id(service, chat), case_type,
                             f"my order {order} never arrived, the buyer is waiting",
                             order).case.number


def thread_posts(uow_factory: SqlUnitOfWorkFactory) -> list[str]:
    with uow_factory() as uow:
        rows = uow.session.scalars(select(OutboxRow).where(OutboxRow.kind == ob.THREAD_POST)
                                   .order_by(OutboxRow.id))
        return [str(r.payload["text"]) for r in rows]


async def test_close_by_number_asks_first_then_withdraws_and_tells_the_thread(
        chat: Chat, service: CaseService, uow_factory: SqlUnitOfWorkFactory) -> None:
    open_case(service, chat, ORDERS[0])
    number = open_case(service, chat, ORDERS[1])
    await chat.say(f"close {number}")
    chat.expect(f"Withdraw {number} (Shipping · {ORDERS[1]})?", "you can reopen it")
    chat.expect_buttons("Yes, close it", "No, keep it")
    assert service.get_case(number).case.status == "open"  # nothing happens before the yes

    await chat.press("Yes, close it")
    chat.expect(f"{number} is withdrawn and closed; our team has been told")
    assert service.get_case(number).case.status == "closed"
    assert service.get_case("CX-000001").case.status == "open"  # only the one named
    posts = thread_posts(uow_factory)
    assert "Status: In progress → Closed" in posts[-2] and "withdrawn by the seller" in posts[-2]
    assert posts[-1] == "🙋 The seller withdrew the case: no further work needed."
    assert [e.to_value for e in service.get_case(number).events
            if e.kind == "withdrawn"] == ["closed"]

    await chat.press("Yes, close it")  # pressed again later: already closed, said so
    chat.expect("can't do that")


async def test_i_solved_it_myself_with_a_typed_yes_keeps_the_words(
        chat: Chat, service: CaseService, uow_factory: SqlUnitOfWorkFactory) -> None:
    number = open_case(service, chat, ORDERS[0])
    await chat.say("I solved it myself, the buyer found the parcel at a neighbour's")
    chat.expect(f"Withdraw {number}")
    await chat.say("yes")
    chat.expect(f"{number} is withdrawn and closed")
    detail = service.get_case(number)
    assert detail.case.status == "closed"
    assert detail.messages[-1].text == (
        "I solved it myself, the buyer found the parcel at a neighbour's")
    assert thread_posts(uow_factory)[-1] == (
        "🙋 The seller withdrew the case (\"I solved it myself, the buyer found the parcel at "
        "a neighbour's\"): no further work needed.")


async def test_no_keeps_the_case_open(chat: Chat, service: CaseService) -> None:
    number = open_case(service, chat, ORDERS[0])
    await chat.say("please close my case")
    chat.expect(f"Withdraw {number}")
    await chat.press("No, keep it")
    chat.expect(f"Okay, {number} stays open.")
    assert service.get_case(number).case.status == "open"
    await chat.say("close it")
    await chat.say("no")
    chat.expect(f"Okay, {number} stays open.")
    assert service.get_case(number).case.status == "open"


async def test_a_resolved_case_is_closed_not_withdrawn(
        chat: Chat, service: CaseService, uow_factory: SqlUnitOfWorkFactory) -> None:
    number = open_case(service, chat, ORDERS[0])
    service.change_status(number, "resolved")
    await chat.say(f"please close {number}")
    chat.expect(f"Close {number} (Shipping · {ORDERS[0]})?")
    await chat.press("Yes, close it")
    chat.expect(f"📁 {number} is closed; our team has been told")
    assert service.get_case(number).case.status == "closed"
    assert thread_posts(uow_factory)[-1] == "🙋 The seller closed the case."


async def test_which_case_when_several_are_open(chat: Chat, service: CaseService) -> None:
    first = open_case(service, chat, ORDERS[0])
    second = open_case(service, chat, ORDERS[1], "order")
    await chat.say("we don't need help anymore, sorted it out ourselves")
    chat.expect("Which case should I close?")
    chat.expect_buttons(f"Close {first}", f"Close {second}")
    await chat.press(f"Close {second}")
    chat.expect(f"Withdraw {second} (Orders · {ORDERS[1]})?")
    await chat.press("Yes, close it")
    assert service.get_case(second).case.status == "closed"
    assert service.get_case(first).case.status == "open"


async def test_close_button_on_the_case_and_reopening_afterwards(
        chat: Chat, service: CaseService, clock: ManualClock) -> None:
    number = open_case(service, chat, ORDERS[0])
    await chat.say(f"status of {number}")
    await chat.press("Close this case")
    chat.expect(f"Withdraw {number}")
    await chat.press("Yes, close it")
    clock.advance(hours=2)
    await chat.say(f"please reopen {number}, the parcel is missing again")
    chat.expect("Reopened as CX-000002")


async def test_nothing_to_close_and_not_ones_own(chat: Chat, service: CaseService,
                                                 uow_factory: SqlUnitOfWorkFactory) -> None:
    await chat.say("I solved it myself")
    chat.expect("You have no open cases to close.")
    other = Chat(chat.engine, uow_factory, user="200", name="Bob")
    chat_harness.register(service, other, "Bob's Shop")
    theirs = open_case(service, other, ORDERS[0])
    await chat.say(f"close {theirs}")
    chat.expect(f"I can't find {theirs} among your cases")
    await chat.send(button=f"closeyes:{theirs}", text="Yes, close it")
    chat.expect(f"I can't find {theirs} among your cases")
    assert service.get_case(theirs).case.status == "open"


async def test_a_declined_case_is_not_closed_again(chat: Chat, service: CaseService) -> None:
    number = open_case(service, chat, ORDERS[0])
    service.change_status(number, "declined", reason="not our order")
    await chat.say(f"close {number}")
    chat.expect(f"{number} can't do that")
    assert service.get_case(number).case.status == "declined"


@pytest.mark.parametrize(("text", "closes"), [
    ("close CX-000004", True),
    ("please close cx 4", True),
    ("withdraw my case", True),
    ("you can close it", True),
    ("cancel the case please", True),
    ("I solved it myself", True),
    ("we fixed the problem ourselves", True),
    ("sorted it out on my own", True),
    ("I no longer need help", True),
    ("we don't need help anymore", True),
    ("please don't close my case", False),
    ("why did you close my case?", False),
    ("my case was closed but the problem is back", False),
    ("please reopen my closed case", False),
    ("the buyer wants to cancel the order", False),
    ("close the listing for the red shoes", False),
    ("my closed cases", False),
    ("I solved it myself but the buyer still complains that the parcel never came and now "
     "wants a refund for the whole order", False),
])
def test_what_reads_as_a_close_request(text: str, closes: bool) -> None:
    assert phrases.wants_to_close(text) is closes


@pytest.mark.parametrize(("text", "wanted"), [
    ("my closed cases", "closed"),
    ("show my old cases", "closed"),
    ("declined cases?", "closed"),
    ("show me all my cases", "all"),
    ("all cases", "all"),
    ("my open cases", "in_progress"),
    ("cases in progress", "in_progress"),
    ("reopen my closed cases", None),
    ("why are my closed cases gone, I need the one about the refund", None),
    ("my closed case", None),
])
def test_what_reads_as_a_list_request(text: str, wanted: str | None) -> None:
    assert phrases.list_filter(text) == wanted
