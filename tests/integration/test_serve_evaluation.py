"""Issue 11 through the real channels: the rating with its reason, and a second "ask for a
person", by a seller on Telegram (the real python-telegram-bot webhook against the Bot API
stand-in) and agents in Slack (signed events and button presses against the Web API
stand-in), on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from tests.integration.serve_relay_support import (
    WAIT,
    OpenedCase,
    Served,
    TelegramSeller,
    case,
    seller,
    served,
    wait_in_thread,
)

# Fixtures shared with the relay tests.
__all__ = ["case", "seller", "served"]


def _evaluation_field(blocks: list[dict[str, Any]]) -> str | None:
    fields = [str(f["text"]) for b in blocks if b["type"] == "section"
              for f in b.get("fields", [])]
    return next((f for f in fields if f.startswith("*Evaluation*")), None)


async def test_a_so_so_with_its_reason_reaches_the_card_and_the_thread(
        served: Served, seller: TelegramSeller, case: OpenedCase) -> None:
    await served.press_case_button("case_status:resolved", case.number, case.parent_ts)
    await served.telegram.wait_for(
        "sendMessage", timeout=WAIT,
        where=lambda r: f"How did we do on {case.number}?" in r.get("text", ""))

    await seller.press("So-so", expect="What could we have done better")
    labels = [b["text"] for b in seller.buttons()]
    assert labels == ["Slow reply", "Problem not solved", "Unclear answer", "Unfriendly",
                      "Other (I'll type it)", "Skip"]
    mark = served.slack.mark()
    await seller.press("Slow reply", expect="Thanks for telling us")

    ev = served.services.cases.get_case(case.number).evaluation
    assert ev is not None and (ev.level, ev.reason_code) == ("so_so", "slow_reply")
    await wait_in_thread(served, case.parent_ts, "Seller's reason for So-so: Slow reply",
                         since=mark)
    update = await served.slack.wait_for(
        "chat.update", since=mark, timeout=WAIT,
        where=lambda r: r.get("ts") == case.parent_ts
        and "Slow reply" in str(_evaluation_field(r["blocks"])))
    assert _evaluation_field(update["blocks"]) == "*Evaluation*\nSo-so — Slow reply"


async def test_skipping_the_reason_on_telegram_keeps_the_rating(
        served: Served, seller: TelegramSeller, case: OpenedCase) -> None:
    await served.press_case_button("case_status:resolved", case.number, case.parent_ts)
    await served.telegram.wait_for(
        "sendMessage", timeout=WAIT,
        where=lambda r: f"How did we do on {case.number}?" in r.get("text", ""))
    await seller.press("Very Disappointing", expect="What could we have done better")
    await seller.say("skip", expect="Your rating (Very Disappointing)")
    ev = served.services.cases.get_case(case.number).evaluation
    assert ev is not None and (ev.level, ev.reason_code) == ("disappointing", None)


async def test_asking_for_a_person_again_after_an_agent_answered(
        served: Served, seller: TelegramSeller, case: OpenedCase) -> None:
    served.classifier.rules["real person"] = "talk_to_human"
    await seller.say("can I talk to a real person", expect="I've asked a person")
    await served.agent_writes(case.parent_ts, "Hi, Bo here: the carrier is tracing it.")
    await served.telegram.wait_for("sendMessage", timeout=WAIT,
                                   where=lambda r: "carrier is tracing" in r.get("text", ""))

    mark = served.slack.mark()
    sent = await seller.say("I still want a real person", expect="You asked for a person on")
    assert sent is not None
    text = sent["text"]
    assert f"on {case.number} just now" in text and "from our team answered just now." in text
    assert "💬 “Hi, Bo here: the carrier is tracing it.”" in text
    assert "I've let the team know you asked again." in text
    assert "Expect a reply" not in text
    await wait_in_thread(served, case.parent_ts,
                         "Seller asked again to talk to a human after the reply of", since=mark)
