"""Every message in the right case (issue 11) through the real channels: a seller on
Telegram (the real python-telegram-bot webhook against the Bot API stand-in), agents in Slack
threads (signed events against the Web API stand-in), on SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import func, select

from storage.models import CaseMessageRow
from tests.integration.serve_relay_support import (
    ORDER2,
    WAIT,
    OpenedCase,
    Served,
    TelegramSeller,
    case,
    seller,
    served,
    wait_in_thread,
)
from tests.standins import telegram_api

# Fixtures shared with the relay tests.
__all__ = ["case", "seller", "served"]


def messages_in(served: Served, number: str) -> list[str]:
    return [m.text for m in served.services.cases.get_case(number).messages]


async def agent_asks(served: Served, opened: OpenedCase, text: str) -> int:
    """An agent writes in the case's thread; returns the Telegram message id it landed as."""
    await served.agent_writes(opened.parent_ts, text)
    relayed = await served.telegram.wait_for(
        "sendMessage", timeout=WAIT, where=lambda r: text in r.get("text", ""))
    return int(relayed.response["result"]["message_id"])


async def test_an_answer_to_the_agent_goes_to_the_agents_case_and_can_be_undone(
        served: Served, seller: TelegramSeller, case: OpenedCase) -> None:
    refund = await seller.open_case(f"the buyer wants a refund for {ORDER2} but the button fails")
    await agent_asks(served, case, "Which carrier did you use?")
    mark = served.slack.mark()

    # The seller was last talking about the refund; the answer goes to the agent's case.
    await seller.say("DHL Express, picked up on Monday", expect=f"Added to {case.number}")
    await wait_in_thread(served, case.parent_ts, "DHL Express", since=mark)
    assert "DHL Express, picked up on Monday" not in messages_in(served, refund.number)

    await seller.press("Undo", expect=f"took that message back out of {case.number}")
    await wait_in_thread(served, case.parent_ts, "took this message back", since=mark)
    assert "DHL Express, picked up on Monday" not in messages_in(served, case.number)
    events = served.services.cases.get_case(case.number).events
    assert [e.reason for e in events if e.kind == "message_withdrawn"] == [
        "DHL Express, picked up on Monday"]


async def test_a_telegram_reply_to_a_relayed_agent_message_finds_its_case(
        served: Served, seller: TelegramSeller, case: OpenedCase) -> None:
    refund = await seller.open_case(f"the buyer wants a refund for {ORDER2} but the button fails")
    relayed_id = await agent_asks(served, case, "Which carrier did you use?")
    # Afterwards the seller talks about the refund again: that is the ongoing case now.
    await seller.say(f"{refund.number} the buyer sent photos of the broken button",
                     expect=f"Added to {refund.number}")
    mark = served.slack.mark()

    update = telegram_api.message_update("UPS, not DHL", user_id=seller.user_id,
                                         first_name=seller.name, message_id=990,
                                         reply_to_message_id=relayed_id)
    response = await served.telegram_update(update)
    assert response.status_code == 200
    await served.telegram.wait_for(
        "sendMessage", timeout=WAIT,
        where=lambda r: r.get("chat_id") == seller.chat
        and f"Added to {case.number}" in r.get("text", ""))
    await wait_in_thread(served, case.parent_ts, "UPS, not DHL", since=mark)
    assert "UPS, not DHL" not in messages_in(served, refund.number)


async def test_a_rating_typed_in_words_and_a_bare_number_are_not_filed(
        served: Served, seller: TelegramSeller, case: OpenedCase) -> None:
    await served.press_case_button("case_status:resolved", case.number, case.parent_ts)
    await served.telegram.wait_for(
        "sendMessage", timeout=WAIT,
        where=lambda r: f"How did we do on {case.number}?" in r.get("text", ""))
    before = messages_in(served, case.number)

    await seller.say("terrible, nobody even answered me",
                     expect=f"your feedback on {case.number}")
    evaluation = served.services.cases.get_case(case.number).evaluation
    assert evaluation is not None and evaluation.level == "disappointing"
    assert evaluation.reason == "nobody even answered me"
    await seller.say("4", expect="not sure what")
    assert messages_in(served, case.number) == before


async def test_out_of_scope_and_acknowledgements_are_never_filed(
        served: Served, seller: TelegramSeller, case: OpenedCase) -> None:
    served.classifier.rules["weather"] = "out_of_scope"
    count = served.scalar(select(func.count()).select_from(CaseMessageRow))
    await seller.say("whats the weather like in colombo tomorrow", expect="I can only help")
    await seller.say("ok", expect="I'm here if you need")
    await seller.say("👍", expect="I'm here if you need")
    assert served.scalar(select(func.count()).select_from(CaseMessageRow)) == count
