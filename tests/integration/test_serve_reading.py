"""The seller reads and closes a case through the real Telegram webhook (python-telegram-bot
against the stand-in Bot API, agents in the stand-in Slack): ``/case`` pages with "Older",
``/cases`` filters by button and typed, and "close it" confirmed, with the thread told."""

from __future__ import annotations

from tests.integration import serve_relay_support as relay_fixtures
from tests.integration.serve_relay_support import (
    WAIT,
    OpenedCase,
    Served,
    TelegramSeller,
    wait_in_thread,
)

# The server, a registered seller and an open case, shared with the relay tests.
served = relay_fixtures.served
seller = relay_fixtures.seller
case = relay_fixtures.case


def labels(seller: TelegramSeller) -> list[str]:
    return [b["text"] for b in seller.buttons()]


async def test_read_the_conversation_then_withdraw_the_case(
        served: Served, seller: TelegramSeller, case: OpenedCase) -> None:
    await served.agent_writes(case.parent_ts, "Which carrier did you use?")
    await served.telegram.wait_for("sendMessage", timeout=WAIT,
                                   where=lambda r: "Which carrier" in r.get("text", ""))

    page = await seller.say(f"/case {case.number}", expect="Conversation, 1–2 of 2:")
    assert page is not None
    text = page["text"]
    assert text.index("never arrived") < text.index("Which carrier did you use?")
    assert "🆕 new" in text and "Updated (1 new)" in text
    assert "Close this case" in labels(seller)
    again = await seller.say(f"/case {case.number}", expect="Conversation, 1–2 of 2:")
    assert again is not None and "🆕" not in again["text"]  # marked read

    mark = served.slack.mark()
    await seller.press("Close this case", expect=f"Withdraw {case.number}")
    await seller.press("Yes, close it", expect=f"{case.number} is withdrawn and closed")
    await wait_in_thread(served, case.parent_ts, "The seller withdrew the case", since=mark)
    assert served.services.cases.get_case(case.number).case.status == "closed"

    await seller.say("/cases", expect="You have no active cases")
    await seller.press("Closed", expect="Your closed and declined cases (1):")
    listed = await seller.say("my closed cases", expect="Your closed and declined cases (1):")
    assert listed is not None and case.number in listed["text"]


async def test_older_pages_and_i_solved_it_myself(
        served: Served, seller: TelegramSeller, case: OpenedCase) -> None:
    for i in range(1, 10):
        served.services.cases.agent_reply(case.number, "agent1", f"update number {i}")
    await served.telegram.wait_for("sendMessage", timeout=WAIT,
                                   where=lambda r: "update number 9" in r.get("text", ""))
    # The nine unread replies all show on the first page.
    await seller.say(f"/case {case.number}", expect="Conversation, 2–10 of 10:")
    older = await seller.press("Older", expect="earlier in the conversation (1–1 of 10)")
    assert older is not None and "never arrived" in older["text"]
    await seller.say(f"/case {case.number}", expect="Conversation, 3–10 of 10:")

    mark = served.slack.mark()
    await seller.say("I solved it myself, the parcel was at the neighbour's",
                     expect=f"Withdraw {case.number}")
    await seller.say("yes", expect="withdrawn and closed")
    note = await wait_in_thread(served, case.parent_ts, "The seller withdrew the case",
                                since=mark)
    assert "the parcel was at the neighbour's" in note["text"]
