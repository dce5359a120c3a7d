"""Evaluation after resolution (rule 6): three levels, a reason for the lower two, once,
within 4 days."""

from __future__ import annotations

from bot.cases import CaseService
from bot.clock import ManualClock
from tests.unit import chat_harness
from tests.unit.chat_harness import Chat

# Fixtures shared by the conversation tests.
chat = chat_harness.chat
engine = chat_harness.engine

ORDER = "123-1234567-1234567"


async def resolved_case(chat: Chat, service: CaseService) -> None:
    await chat.say(f"my order {ORDER} never arrived, the buyer is waiting since Monday")
    await chat.press("Open the case")
    service.change_status("CX-000001", "resolved")


async def test_like(chat: Chat, service: CaseService) -> None:
    await resolved_case(chat, service)
    await chat.press("Worthy of a Like")  # the prompt the rules queued on resolution
    chat.expect("Thanks for the Like")
    assert service.get_case("CX-000001").evaluation.level == "like"  # type: ignore[union-attr]


async def test_so_so_asks_for_a_reason(chat: Chat, service: CaseService) -> None:
    await resolved_case(chat, service)
    await chat.press("So-so")
    chat.expect("What could we have done better on CX-000001?")
    await chat.say("It took four days to get the first answer 😕")
    chat.expect("Thanks for telling us")
    ev = service.get_case("CX-000001").evaluation
    assert ev is not None and ev.level == "so_so"
    assert ev.reason == "It took four days to get the first answer 😕"


async def test_only_once(chat: Chat, service: CaseService) -> None:
    await resolved_case(chat, service)
    await chat.press("Worthy of a Like")
    await chat.press("Very Disappointing")
    chat.expect("You've already rated CX-000001")


async def test_window_of_four_days(chat: Chat, service: CaseService, clock: ManualClock) -> None:
    await resolved_case(chat, service)
    clock.advance(days=4, hours=1)
    await chat.press("Worthy of a Like")
    chat.expect("closed 4 days after it was resolved")
    assert service.get_case("CX-000001").evaluation is None


async def test_not_resolved_yet(chat: Chat, service: CaseService) -> None:
    await chat.say(f"my order {ORDER} never arrived, the buyer is waiting since Monday")
    await chat.press("Open the case")
    await chat.send(button="eval:CX-000001:like", text="Worthy of a Like")
    chat.expect("hasn't been resolved yet")


async def test_typed_level(chat: Chat, service: CaseService) -> None:
    await resolved_case(chat, service)
    await chat.say("very disappointing")
    chat.expect("What could we have done better on CX-000001?")
    await chat.say("cancel")
    # Issue 11: cancelling the reason keeps the rating (it used to be lost).
    chat.expect("Your rating (Very Disappointing) of CX-000001 stays recorded")
    ev = service.get_case("CX-000001").evaluation
    assert ev is not None and ev.level == "disappointing" and ev.reason_code is None


async def test_malformed_evaluation_payload(chat: Chat, service: CaseService) -> None:
    await resolved_case(chat, service)
    await chat.send(button="eval:CX-000001:amazing", text="?")
    chat.expect("no longer available")
