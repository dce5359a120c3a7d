"""Every message in the right case (issue 11), as conversations: answers to agents, typed
answers to the bot's questions, what is never filed, other issues mid-conversation, "Undo /
it's something else", and the words around an action. On SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot import outbox as ob
from bot.cases import CaseService
from bot.clock import ManualClock
from bot.engine import Engine
from bot.relay import Relay
from storage.models import OutboxRow
from storage.uow import SqlUnitOfWorkFactory
from tests.fakes import FakeClassifier
from tests.unit.chat_harness import RULES, Chat, make_engine, register

ORDER = "123-1234567-1234567"
ORDER2 = "240518K7QW93XZ"
BANK = "my disbursement of last week never reached my bank account"
PARCEL = f"my order {ORDER} never arrived, the buyer is waiting since Monday"


@pytest.fixture
def engine(service: CaseService, uow_factory: SqlUnitOfWorkFactory, relay: Relay,
           clock: ManualClock) -> Engine:
    rules = {"poem": "out_of_scope", **RULES}
    return make_engine(service, uow_factory, relay, clock,
                       classifier=FakeClassifier(rules, default=None))


@pytest.fixture
def chat(engine: Engine, uow_factory: SqlUnitOfWorkFactory, service: CaseService) -> Chat:
    c = Chat(engine, uow_factory)
    register(service, c)
    return c


async def open_case(chat: Chat, text: str) -> str:
    """Describe an issue and go through intake's questions the plain way; the new number."""
    await chat.say(text)
    for label in ("It's a new issue", "No, I still need help", "Not about one order"):
        if any(label in b for b in chat.buttons):
            await chat.press(label)
    await chat.press("Open the case")
    chat.expect("Opened")
    return next(r.case_number for r in chat.replies if r.case_number)


def texts(service: CaseService, number: str) -> list[str]:
    return [m.text for m in service.get_case(number).messages]


def thread_posts(uow_factory: SqlUnitOfWorkFactory) -> list[str]:
    with uow_factory() as uow:
        return [r.payload["text"] for r in uow.session.scalars(
            select(OutboxRow).where(OutboxRow.kind == ob.THREAD_POST).order_by(OutboxRow.id))]


# Answers to agents ----------------------------------------------------------------------------
async def test_an_answer_to_an_agent_goes_to_the_agents_case(
        chat: Chat, service: CaseService, clock: ManualClock) -> None:
    bank = await open_case(chat, BANK)
    parcel = await open_case(chat, PARCEL)
    await chat.say("the neighbour says a van came by on Tuesday evening")
    chat.expect(f"Added to {parcel}")
    clock.advance(minutes=5)
    service.agent_reply(bank, "agent1", "Could you update your bank details and tell me?")
    clock.advance(minutes=5)

    await chat.say("done, updated the bank details just now")

    chat.expect(f"Added to {bank}")
    assert texts(service, bank)[-1] == "done, updated the bank details just now"
    assert "done, updated the bank details just now" not in texts(service, parcel)
    # The conversation is now about that case: the next words follow.
    await chat.say("the new account is at the same bank, only the branch changed")
    chat.expect(f"Added to {bank}")


async def test_a_resolved_notice_makes_that_case_the_one_talked_about(
        chat: Chat, service: CaseService, clock: ManualClock) -> None:
    parcel = await open_case(chat, PARCEL)
    bank = await open_case(chat, BANK)
    clock.advance(minutes=5)
    service.change_status(parcel, "resolved")
    clock.advance(minutes=5)
    await chat.say("the parcel is still not here, I checked with the neighbours too")
    chat.expect(f"Added to {parcel}; it's back with our team")
    assert texts(service, bank) == [BANK]


async def test_a_slack_dm_thread_reply_goes_to_the_case_of_its_parent(
        engine: Engine, service: CaseService, uow_factory: SqlUnitOfWorkFactory,
        clock: ManualClock) -> None:
    chat = Chat(engine, uow_factory, user="U0SELLER", channel="slack")
    register(service, chat)
    bank = await open_case(chat, BANK)
    parcel = await open_case(chat, PARCEL)
    case, reply = service.agent_reply(bank, "agent1", "Which bank is it?")
    with uow_factory() as uow:  # where the Slack sender recorded the DM message
        uow.messages.add_ref("slack", chat.user, "1700000000.000100", case.id, reply.id)
        uow.commit()
    await chat.say("the buyer says it is fine now")  # the ongoing conversation is the parcel
    clock.advance(hours=2)
    await chat.say("Commercial Bank", reply_to_message_id="1700000000.000100")
    chat.expect(f"Added to {bank}")
    assert "Commercial Bank" not in texts(service, parcel)


# Typed answers to questions ------------------------------------------------------------------
async def resolved_while_talking_about_another(chat: Chat, service: CaseService,
                                               clock: ManualClock) -> tuple[str, str]:
    parcel = await open_case(chat, PARCEL)
    bank = await open_case(chat, BANK)
    clock.advance(minutes=5)
    service.change_status(parcel, "resolved")  # "How did we do on CX-000001?" is relayed
    clock.advance(minutes=5)
    return parcel, bank


async def test_a_rating_typed_in_words_then_a_bare_number(
        chat: Chat, service: CaseService, clock: ManualClock) -> None:
    parcel, bank = await resolved_while_talking_about_another(chat, service, clock)

    await chat.say("terrible, nobody even answered me")
    chat.expect(f"your feedback on {parcel}")
    evaluation = service.get_case(parcel).evaluation
    assert evaluation is not None and evaluation.level == "disappointing"
    assert evaluation.reason == "nobody even answered me"

    await chat.say("4")
    chat.expect("not sure what \"4\" means")
    assert texts(service, parcel) == [PARCEL]
    assert texts(service, bank) == [BANK]


async def test_a_rating_by_its_number_then_the_reason_typed(
        chat: Chat, service: CaseService, clock: ManualClock) -> None:
    parcel, _bank = await resolved_while_talking_about_another(chat, service, clock)
    await chat.say("4")  # none of the three choices: asked again, filed nowhere
    chat.expect("Which one do you mean?")
    chat.expect_buttons("Worthy of a Like", "So-so", "Very Disappointing")
    await chat.say("2")
    chat.expect("your rating (So-so) is recorded")
    await chat.say("it took four days before anyone answered")
    evaluation = service.get_case(parcel).evaluation
    assert evaluation is not None and evaluation.level == "so_so"
    assert evaluation.reason_code is not None
    assert texts(service, parcel) == [PARCEL]


async def test_yes_and_no_typed_with_words_are_answers_not_description(
        chat: Chat, service: CaseService) -> None:
    await chat.say(BANK)
    chat.expect("Did this solve it?")
    await chat.say("no it didn't help")
    chat.expect("Which order")
    await chat.press("Not about one order")
    chat.expect("Open it?")
    chat.expect_not("didn't help")
    await chat.say("yes please open it")
    chat.expect("Opened CX-000001")
    assert texts(service, "CX-000001") == [BANK]


async def test_a_type_typed_in_the_menu_is_a_choice_not_description(
        chat: Chat, service: CaseService) -> None:
    await chat.command("new")
    chat.expect("What is the new case about?")
    await chat.say("payments")
    chat.expect("Wondering when you'll be paid?")
    await chat.press("No, I still need help")
    await chat.press("Not about one order")
    await chat.say("the payout of the 3rd of May is missing from my account")
    chat.expect("Open it?")
    await chat.press("Open the case")
    assert texts(service, "CX-000001") == ["the payout of the 3rd of May is missing from my account"]


async def test_which_case_answered_in_words(chat: Chat, service: CaseService) -> None:
    parcel = await open_case(chat, PARCEL)
    await chat.say("the buyer says the box was empty when it came")
    chat.expect(f"Is this about {parcel}, or a new issue?")
    await chat.say("yes")
    chat.expect(f"Added to {parcel}")
    await chat.say("the buyer also wants to send it back to me")
    chat.expect(f"Is this about {parcel}, or a new issue?")
    await chat.say("no, it's a new one")
    chat.expect("Which order is it about")  # intake for the new issue, the words kept
    await chat.say(ORDER2)
    chat.expect("I'll open this case", "send it back")
    assert "the buyer also wants to send it back to me" not in texts(service, parcel)


# Never filed ----------------------------------------------------------------------------------
@pytest.mark.parametrize(("message", "answer"), [
    ("whats the weather like in colombo tomorrow", "I can only help"),
    ("can you write me a poem about cats", "I can only help"),
    ("hello", "Hi "),
    ("thanks", "You're welcome"),
    ("ok", "I'm here if you need"),
    ("got it", "I'm here if you need"),
    ("👍", "I'm here if you need"),
    ("4", "not sure what"),
])
async def test_small_talk_and_out_of_scope_are_never_added(
        chat: Chat, service: CaseService, message: str, answer: str) -> None:
    parcel = await open_case(chat, PARCEL)
    await chat.say(message)
    chat.expect(answer)
    chat.expect_not("Added to")
    assert texts(service, parcel) == [PARCEL]


# Another issue mid-conversation --------------------------------------------------------------
async def test_another_order_goes_through_intake_and_finds_its_case(
        chat: Chat, service: CaseService) -> None:
    parcel = await open_case(chat, PARCEL)
    refund = await open_case(chat, f"the buyer wants a refund for {ORDER2} but the button fails")
    # The conversation is about the refund now; a message about the parcel's order is
    # another issue for it, and intake's duplicate check finds the parcel's case.
    await chat.say(f"the tracking for {ORDER} shows it stuck in customs")
    chat.expect("already have a case on this issue")
    chat.expect_buttons(f"Add to {parcel}")
    await chat.press(f"Add to {parcel}")
    chat.expect(f"Added to {parcel}")
    await chat.say(f"the refund for {ORDER2} is still not done, the buyer wrote again")
    chat.expect("already have a case on this issue")
    chat.expect_buttons(f"Add to {refund}")
    await chat.press(f"Add to {refund}")
    chat.expect(f"Added to {refund}")
    assert texts(service, refund)[-1].startswith(f"the refund for {ORDER2}")
    assert len(texts(service, parcel)) == 2


async def test_an_unrelated_type_goes_to_intake_a_related_one_asks(
        chat: Chat, service: CaseService) -> None:
    parcel = await open_case(chat, PARCEL)
    await chat.say("the buyer says the box was empty when it came")  # order ~ shipping
    chat.expect(f"Is this about {parcel}, or a new issue?")
    await chat.press(f"Add to {parcel}")
    chat.expect(f"Added to {parcel}")
    await chat.say("also my listing got suppressed this morning for no reason")
    chat.expect("Listing inactive or suppressed?")  # listing intake, its article first
    assert len(texts(service, parcel)) == 2


# Undo -------------------------------------------------------------------------------------------
async def test_undo_takes_the_message_back_tells_the_thread_and_starts_intake(
        chat: Chat, service: CaseService, uow_factory: SqlUnitOfWorkFactory,
        clock: ManualClock) -> None:
    parcel = await open_case(chat, PARCEL)
    service.change_status(parcel, "pending")
    clock.advance(minutes=5)
    await chat.say("the payout report from my bank shows a different amount")
    chat.expect(f"Added to {parcel}; it's back with our team")
    chat.expect_buttons("Undo / it's something else")
    assert service.get_case(parcel).case.status == "investigating"

    clock.advance(minutes=2)
    await chat.press("Undo")
    chat.expect(f"took that message back out of {parcel}", "What is it about, then?")
    detail = service.get_case(parcel)
    assert texts(service, parcel) == [PARCEL]
    assert detail.case.status == "pending"  # nobody acted since: it waits for the seller again
    withdrawn = [e for e in detail.events if e.kind == "message_withdrawn"]
    assert [e.reason for e in withdrawn] == [
        "the payout report from my bank shows a different amount"]
    assert any("took this message back" in p and "payout report" in p
               for p in thread_posts(uow_factory))

    await chat.press("Payments")
    await chat.press("No, I still need help")
    await chat.press("Not about one order")
    chat.expect("Open it?", "the payout report from my bank shows a different amount")
    await chat.press("Open the case")
    chat.expect("Opened CX-000002")
    assert texts(service, "CX-000002") == [
        "the payout report from my bank shows a different amount"]


async def test_undo_typed_and_a_clear_other_type_goes_straight_to_intake(
        chat: Chat, service: CaseService) -> None:
    parcel = await open_case(chat, PARCEL)
    await chat.say("CX-000001 my disbursement of last week is missing too")  # a number: filed
    chat.expect(f"Added to {parcel}")
    await chat.say("undo")
    chat.expect(f"took that message back out of {parcel}", "Wondering when you'll be paid?")
    assert texts(service, parcel) == [PARCEL]


async def test_undo_is_refused_after_ten_minutes_and_when_already_done(
        chat: Chat, service: CaseService, clock: ManualClock) -> None:
    parcel = await open_case(chat, PARCEL)
    await chat.say("I also checked with my warehouse and they shipped it on time")
    chat.expect(f"Added to {parcel}")
    undo = next(b for r in chat.replies for b in r.buttons if b.payload.startswith("undo:"))
    clock.advance(minutes=11)
    await chat.send(button=undo.payload, text=undo.label)
    chat.expect("too late to undo", parcel)
    assert len(texts(service, parcel)) == 2

    await chat.say("and the carrier confirmed the pickup on Tuesday")
    again = next(b for r in chat.replies for b in r.buttons if b.payload.startswith("undo:"))
    await chat.send(button=again.payload, text=again.label)
    chat.expect("took that message back")
    await chat.send(button=again.payload, text=again.label)
    chat.expect("no longer in a case")
    assert len(texts(service, parcel)) == 2


async def test_the_message_that_opened_a_case_cannot_be_undone(
        chat: Chat, service: CaseService) -> None:
    parcel = await open_case(chat, PARCEL)
    first = service.get_case(parcel).messages[0]
    await chat.send(button=f"undo:{first.id}", text="Undo")
    chat.expect(f"That message opened {parcel}")
    assert texts(service, parcel) == [PARCEL]


# The words around an action -----------------------------------------------------------------
async def test_urgent_with_a_reason_flags_and_keeps_the_reason(
        chat: Chat, service: CaseService, uow_factory: SqlUnitOfWorkFactory) -> None:
    parcel = await open_case(chat, PARCEL)
    await chat.say("please flag it as urgent")
    chat.expect(f"{parcel} is flagged urgent")
    assert texts(service, parcel) == [PARCEL]  # nothing but the request: nothing to add

    bank = await open_case(chat, BANK)
    await chat.say("this is really urgent pls, i need the money to pay my supplier")
    chat.expect(f"{bank} is flagged urgent", f"added what you wrote to {bank}")
    assert service.get_case(bank).case.urgent
    assert texts(service, bank)[-1] == "this is really urgent pls, i need the money to pay my supplier"
    assert "this is really urgent pls, i need the money to pay my supplier" in thread_posts(
        uow_factory)


async def test_keep_open_with_a_reason_keeps_it_and_the_case_still_waits(
        chat: Chat, service: CaseService) -> None:
    parcel = await open_case(chat, PARCEL)
    service.change_status(parcel, "pending")
    await chat.say("please give me more time, I am waiting for the courier report next week")
    chat.expect(f"{parcel} will stay open", f"added what you wrote to {parcel}")
    detail = service.get_case(parcel)
    assert detail.case.status == "pending"
    assert detail.case.keep_open_count == 1
    assert texts(service, parcel)[-1].endswith("waiting for the courier report next week")


async def test_a_number_typed_after_a_rating_prompt_rates_not_the_older_button(
        chat: Chat, service: CaseService, clock: ManualClock) -> None:
    parcel = await open_case(chat, PARCEL)
    await chat.say("the courier now says it is at the depot, can you check with them")
    chat.expect(f"Added to {parcel}")
    chat.expect_buttons("↩️ Undo / it's something else")  # offered: a "1" would undo
    clock.advance(minutes=2)
    service.change_status(parcel, "resolved")  # the rating prompt reaches the chat after it
    clock.advance(minutes=1)
    await chat.say("1")
    evaluation = service.get_case(parcel).evaluation
    assert evaluation is not None and evaluation.level == "like"
    assert "the courier now says it is at the depot, can you check with them" in texts(
        service, parcel)  # not undone
