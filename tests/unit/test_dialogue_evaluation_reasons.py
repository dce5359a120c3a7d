"""Issue 11, "Evaluation as the seeds have it": So-so and Very Disappointing offer the seeds'
reasons as buttons (slow reply, problem not solved, unclear answer, unfriendly, other typed),
stored as codes plus the seller's words; skipping the reason keeps the rating. And asking for
a person a second time says when they asked and whether someone answered, without the first
promise again. Each test reads like the conversation it checks (SQLite and PostgreSQL)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from bot import i18n
from bot import outbox as ob
from bot.cases import CaseService
from bot.clock import ManualClock
from bot.domain import Evaluation
from storage.models import OutboxRow
from storage.uow import SqlUnitOfWorkFactory
from tests.unit import chat_harness
from tests.unit.chat_harness import Chat

chat = chat_harness.chat
engine = chat_harness.engine

ORDER = "123-1234567-1234567"
REASONS = ["Slow reply", "Problem not solved", "Unclear answer", "Unfriendly",
           "Other (I'll type it)", "Skip"]


async def resolved_case(chat: Chat, service: CaseService) -> None:
    await chat.say(f"my order {ORDER} never arrived, the buyer is waiting since Monday")
    await chat.press("Open the case")
    service.change_status("CX-000001", "resolved")


def rating(service: CaseService, number: str = "CX-000001") -> Evaluation:
    ev = service.get_case(number).evaluation
    assert ev is not None, f"{number} has no rating"
    return ev


def agents_see(uow_factory: SqlUnitOfWorkFactory, kind: str = ob.THREAD_POST) -> list[Any]:
    with uow_factory() as uow:
        return [r.payload for r in uow.session.scalars(
            select(OutboxRow).where(OutboxRow.kind == kind).order_by(OutboxRow.id))]


def thread_posts(uow_factory: SqlUnitOfWorkFactory) -> list[str]:
    return [p["text"] for p in agents_see(uow_factory)]


def last_card(uow_factory: SqlUnitOfWorkFactory) -> dict[str, Any]:
    card = agents_see(uow_factory, ob.CASE_PARENT)[-1]["card"]
    assert isinstance(card, dict)
    return card


# Reasons as buttons ------------------------------------------------------------------------
async def test_so_so_offers_the_seeds_reasons_as_buttons(
        chat: Chat, service: CaseService, uow_factory: SqlUnitOfWorkFactory) -> None:
    await resolved_case(chat, service)
    await chat.press("So-so")
    chat.expect("your rating (So-so) is recorded",
                "What could we have done better on CX-000001?")
    assert chat.buttons == REASONS
    await chat.press("Slow reply")
    chat.expect("Thanks for telling us; your feedback on CX-000001 goes to the team.")

    ev = rating(service)
    assert (ev.level, ev.reason_code, ev.reason) == ("so_so", "slow_reply", None)
    assert "Seller evaluation: So-so" in thread_posts(uow_factory)
    assert "Seller's reason for So-so: Slow reply" in thread_posts(uow_factory)
    card = last_card(uow_factory)
    assert (card["evaluation"], card["evaluation_reason"]) == ("so_so", "slow_reply")


async def test_very_disappointing_other_asks_for_the_sellers_words(
        chat: Chat, service: CaseService, uow_factory: SqlUnitOfWorkFactory) -> None:
    await resolved_case(chat, service)
    await chat.press("Very Disappointing")
    chat.expect("your rating (Very Disappointing) is recorded")
    await chat.press("Other (I'll type it)")
    chat.expect("Tell me in a few words what we could have done better on CX-000001.")
    await chat.say("The agent kept asking for the same screenshots")
    chat.expect("Thanks for telling us")

    ev = rating(service)
    assert (ev.level, ev.reason_code) == ("disappointing", "other")
    assert ev.reason == "The agent kept asking for the same screenshots"
    assert ("Seller's reason for Very Disappointing: Other (“The agent kept asking for the same "
            "screenshots”)") in thread_posts(uow_factory)
    assert last_card(uow_factory)["evaluation_words"] == ev.reason


async def test_each_reason_button_stores_its_code(chat: Chat, service: CaseService) -> None:
    _, seller = service.identify(chat.channel, chat.user)
    assert seller is not None
    expected = {"Problem not solved": "problem_not_solved", "Unclear answer": "unclear_answer",
                "Unfriendly": "unfriendly"}
    for n, (label, code) in enumerate(expected.items(), start=1):
        number = service.open_case(seller.id, "order", "the buyer wants a refund",
                                   order_id=f"123-1234567-12345{n:02d}").case.number
        service.change_status(number, "resolved")
        await chat.send(button=f"eval:{number}:disappointing", text="Very Disappointing")
        await chat.press(label)
        chat.expect(f"your feedback on {number} goes to the team")
        assert rating(service, number).reason_code == code


async def test_typed_reason_number_is_the_button_shown(chat: Chat, service: CaseService) -> None:
    await resolved_case(chat, service)
    await chat.press("So-so")
    await chat.say("2")
    chat.expect("Thanks for telling us")
    assert rating(service).reason_code == "problem_not_solved"


async def test_typed_reason_in_words_is_filed_under_its_code_and_keeps_the_words(
        chat: Chat, service: CaseService) -> None:
    await resolved_case(chat, service)
    await chat.say("so-so")  # typed, no button pressed
    chat.expect("your rating (So-so) is recorded")
    await chat.say("terrible, nobody even answered me")
    chat.expect("Thanks for telling us")
    ev = rating(service)
    assert (ev.reason_code, ev.reason) == ("slow_reply", "terrible, nobody even answered me")


async def test_typed_reason_label_is_that_reason(chat: Chat, service: CaseService) -> None:
    await resolved_case(chat, service)
    await chat.press("Very Disappointing")
    await chat.say("unclear answer")
    chat.expect("Thanks for telling us")
    ev = rating(service)
    assert (ev.reason_code, ev.reason) == ("unclear_answer", None)


async def test_typed_other_asks_for_the_words(chat: Chat, service: CaseService) -> None:
    await resolved_case(chat, service)
    await chat.press("So-so")
    await chat.say("other")
    chat.expect("Tell me in a few words")
    await chat.say("I had to explain everything three times")
    assert rating(service).reason == "I had to explain everything three times"


async def test_a_reason_nobody_listed_is_other_with_the_words(chat: Chat,
                                                              service: CaseService) -> None:
    await resolved_case(chat, service)
    await chat.press("So-so")
    await chat.say("It worked out in the end but I had to chase it myself")
    ev = rating(service)
    assert (ev.reason_code, ev.reason) == (
        "other", "It worked out in the end but I had to chase it myself")


# Skipping keeps the rating -------------------------------------------------------------------
async def test_skip_button_keeps_the_rating(chat: Chat, service: CaseService,
                                            uow_factory: SqlUnitOfWorkFactory) -> None:
    await resolved_case(chat, service)
    await chat.press("So-so")
    await chat.press("Skip")
    chat.expect("Okay, no reason. Your rating (So-so) of CX-000001 stays recorded.")
    ev = rating(service)
    assert (ev.level, ev.reason_code) == ("so_so", None)
    assert last_card(uow_factory)["evaluation"] == "so_so"
    # The flow is over: the next message is not taken as a reason.
    await chat.say("thanks")
    chat.expect("You're welcome")
    assert rating(service).reason is None


async def test_cancelling_the_typed_words_of_other_keeps_the_rating(
        chat: Chat, service: CaseService) -> None:
    await resolved_case(chat, service)
    await chat.press("Very Disappointing")
    await chat.press("Other")
    await chat.say("cancel")
    chat.expect("Your rating (Very Disappointing) of CX-000001 stays recorded")
    assert (rating(service).level, rating(service).reason_code) == ("disappointing", None)


async def test_walking_away_keeps_the_rating(chat: Chat, service: CaseService,
                                             clock: ManualClock) -> None:
    await resolved_case(chat, service)
    await chat.press("So-so")
    clock.advance(hours=2)  # the question is long gone: a new message is read afresh
    await chat.say("my disbursement for last week is missing from my bank account")
    chat.expect_not("Thanks for telling us")
    ev = rating(service)
    assert (ev.level, ev.reason_code) == ("so_so", None)


async def test_a_request_at_the_reason_step_is_a_request(chat: Chat,
                                                         service: CaseService) -> None:
    await resolved_case(chat, service)
    await chat.press("So-so")
    await chat.say("I want to talk to a human about CX-000001")
    chat.expect("I've asked a person from our team to take over CX-000001")
    assert rating(service).reason_code is None
    assert service.get_case("CX-000001").case.needs_human


async def test_reason_can_come_later_from_the_buttons_but_only_once(
        chat: Chat, service: CaseService) -> None:
    await resolved_case(chat, service)
    await chat.press("So-so")
    await chat.press("Skip")
    await chat.send(button="eval:CX-000001:why:unfriendly", text="Unfriendly")
    chat.expect("Thanks for telling us")
    await chat.send(button="eval:CX-000001:why:slow_reply", text="Slow reply")
    chat.expect("already has its reason")
    assert rating(service).reason_code == "unfriendly"


async def test_pressing_the_same_level_again_asks_the_reason_again(
        chat: Chat, service: CaseService) -> None:
    await resolved_case(chat, service)
    await chat.press("So-so")
    await chat.say("hmm")  # not a reason: the question again
    chat.expect("What could we have done better")
    assert chat.buttons == REASONS
    await chat.say("thanks")  # walks off to something else
    await chat.send(button="eval:CX-000001:so_so", text="So-so")
    chat.expect("What could we have done better")
    await chat.send(button="eval:CX-000001:like", text="Worthy of a Like")
    chat.expect("You've already rated CX-000001")
    assert rating(service).level == "so_so"


async def test_like_asks_for_no_reason(chat: Chat, service: CaseService) -> None:
    await resolved_case(chat, service)
    await chat.press("Worthy of a Like")
    chat.expect("Thanks for the Like")
    assert chat.buttons == []
    ev = rating(service)
    assert (ev.level, ev.reason_code, ev.reason) == ("like", None, None)


async def test_the_rating_shows_in_the_sellers_case_history(chat: Chat,
                                                            service: CaseService) -> None:
    await resolved_case(chat, service)
    await chat.press("Very Disappointing")
    await chat.press("Other")
    await chat.say("Nobody checked the tracking number I sent")
    await chat.command("case", "CX-000001")
    chat.expect("⭐ Your rating: Very Disappointing · Other (“Nobody checked the tracking "
                "number I sent”)")


# Asking for a person a second time -----------------------------------------------------------
async def open_case(chat: Chat) -> None:
    await chat.say(f"my order {ORDER} never arrived, the buyer is waiting since Monday")
    await chat.press("Open the case")


async def test_asking_again_before_anyone_answered(
        chat: Chat, service: CaseService, clock: ManualClock,
        uow_factory: SqlUnitOfWorkFactory) -> None:
    await open_case(chat)
    await chat.say("I want to talk to a human")
    chat.expect("I've asked a person from our team to take over CX-000001",
                "Expect a reply within 24 hours")
    asked = clock.now()
    clock.advance(minutes=20)
    await chat.say("can I talk to a real person please")
    chat.expect("You already asked for a person on CX-000001 20 minutes ago "
                f"({i18n.when(asked)})",
                "Nobody from our team has answered since; your request is still with them.")
    chat.expect_not("Expect a reply within", "I've asked a person", "let the team know")
    # Within the quiet hour the thread is not told again.
    assert sum("talk to a human" in p for p in thread_posts(uow_factory)) == 1

    clock.advance(hours=2)
    await chat.say("real person please")
    chat.expect("You already asked for a person on CX-000001 2 hours ago",
                "Nobody from our team has answered since",
                "I've let the team know you asked again.")
    assert any(p.startswith("🙋 Seller asked again to talk to a human (first asked")
               and "nobody has answered since" in p for p in thread_posts(uow_factory))


async def test_asking_again_after_an_agent_answered(
        chat: Chat, service: CaseService, clock: ManualClock,
        uow_factory: SqlUnitOfWorkFactory) -> None:
    await open_case(chat)
    await chat.say("I want to talk to a human")
    clock.advance(minutes=30)
    service.agent_reply("CX-000001", "U1", "We asked the carrier; news by Friday.", "Priya")
    clock.advance(minutes=10)
    await chat.say("I want to talk to a human")
    chat.expect("You asked for a person on CX-000001 40 minutes ago",
                "and Priya from our team answered 10 minutes ago.",
                "💬 “We asked the carrier; news by Friday.”",
                "I've let the team know you asked again.")
    chat.expect_not("Expect a reply within", "Nobody from our team")
    assert any(p.startswith("🙋 Seller asked again to talk to a human after the reply of")
               for p in thread_posts(uow_factory))
