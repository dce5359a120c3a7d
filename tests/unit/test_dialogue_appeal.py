"""Appeals: the three-part plan of action (rule 9)."""

from __future__ import annotations

from bot.cases import CaseService
from tests.unit import chat_harness
from tests.unit.chat_harness import Chat

# Fixtures shared by the conversation tests.
chat = chat_harness.chat
engine = chat_harness.engine

ROOT = ("Two warehouse staff were on leave in May, so 14 orders shipped after the handling "
        "time and our late shipment rate went over 4%.")
ACTIONS = ("We hired a temporary packer, shipped every open order within 24 hours and refunded "
           "the shipping cost to the buyers who were affected.")
PREVENTION = ("We now keep a backup packer on call, set the handling time to 3 days during "
              "holidays and check the late shipment report every morning.")


async def test_plan_of_action(chat: Chat, service: CaseService) -> None:
    await chat.say("my account was suspended after a performance notification")
    chat.expect("plan of action", "1/3 Root cause")
    await chat.say("staff were away")
    chat.expect("too short for an appeal")
    await chat.say(ROOT)
    chat.expect("2/3 Actions taken")
    await chat.say(ROOT)  # the same text again is not an action plan
    chat.expect("what you actually did")
    await chat.say(ACTIONS)
    chat.expect("3/3 Prevention")
    await chat.say(PREVENTION)
    chat.expect("Your plan of action", "Submit it as an appeal?")
    await chat.press("Submit the appeal")
    chat.expect("Opened CX-000001", "Account health")
    text = service.get_case("CX-000001").messages[0].text
    assert "Root cause: " + ROOT in text and "Actions taken: " + ACTIONS in text
    assert "Prevention: " + PREVENTION in text and "performance notification" in text


async def test_plan_can_be_cancelled_and_restarted(chat: Chat, service: CaseService) -> None:
    await chat.say("my account was suspended after a performance notification")
    await chat.say(ROOT)
    await chat.say(ACTIONS)
    await chat.say(PREVENTION)
    await chat.press("Start over")
    chat.expect("1/3 Root cause")
    await chat.say("cancel")
    chat.expect("cancelled")
    assert service.search_cases() == []


async def test_appeal_duplicate_is_detected(chat: Chat, service: CaseService) -> None:
    await chat.say("my account was suspended after a performance notification")
    for part in (ROOT, ACTIONS, PREVENTION):
        await chat.say(part)
    await chat.press("Submit the appeal")
    chat.engine.deps.clock.advance(hours=30)  # type: ignore[attr-defined]
    await chat.say("I got another performance notification today")
    chat.expect("already have a case on this issue", "CX-000001")
