"""`frontdoor serve`: what a seller writes on Telegram reaches the case's Slack thread. The
first message opens a case (a parent card and its thread); later messages about the same order,
replies to a relayed agent message and the same issue a day later are added to that case.
Server, stand-ins and helpers: serve_relay_support."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.clock import ManualClock
from storage.database import Database
from tests.integration import serve_relay_support as relay_fixtures
from tests.integration.serve_relay_support import (
    ORDER,
    SUPPORT,
    WAIT,
    OpenedCase,
    Served,
    TelegramSeller,
    serving,
    wait_in_thread,
)
from tests.standins import telegram_api

# The server, a registered seller and an open case, shared with the other serve tests.
served = relay_fixtures.served
seller = relay_fixtures.seller
case = relay_fixtures.case


async def test_telegram_message_opens_a_case_with_parent_and_thread(
        served: Served, seller: TelegramSeller) -> None:
    opened = await seller.open_case(
        f"my order {ORDER} never arrived, the buyer is waiting since Monday")

    card = opened.parent
    assert opened.number in card["text"]
    action_ids = [e["action_id"] for b in card["blocks"] if b["type"] == "actions"
                  for e in b["elements"]]
    assert "case_status:investigating" in action_ids and "case_urgent:on" in action_ids
    first = await wait_in_thread(served, opened.parent_ts, "never arrived")
    assert first["channel"] == SUPPORT
    detail = served.services.cases.get_case(opened.number)
    assert detail.case.case_type == "shipping" and detail.case.order_id == ORDER
    assert detail.agents_thread is not None
    assert (detail.agents_thread.channel, detail.agents_thread.parent_message_id) == (
        SUPPORT, opened.parent_ts)
    assert served.case_count() == 1


async def test_second_message_about_the_same_order_lands_in_the_existing_thread(
        served: Served, seller: TelegramSeller, case: OpenedCase) -> None:
    mark = served.slack.mark()
    await seller.say(f"Order {ORDER} still missing today, the buyer wants a refund",
                     expect=f"Added to {case.number}")

    await wait_in_thread(served, case.parent_ts, "buyer wants a refund", since=mark)
    assert served.case_count() == 1
    parents = [r for r in served.slack.calls("chat.postMessage")
               if r.get("channel") == SUPPORT and not r.get("thread_ts")]
    assert len(parents) == 1


async def test_reply_to_a_relayed_agent_message_goes_to_that_case(
        served: Served, seller: TelegramSeller, case: OpenedCase) -> None:
    await served.agent_writes(case.parent_ts, "Which carrier did you use?")
    relayed = await served.telegram.wait_for(
        "sendMessage", timeout=WAIT, where=lambda r: "Which carrier" in r.get("text", ""))
    message_id = relayed.response["result"]["message_id"]
    mark = served.slack.mark()

    update = telegram_api.message_update("DHL Express", user_id=seller.user_id,
                                         message_id=950, reply_to_message_id=message_id)
    assert (await served.telegram_update(update)).status_code == 200

    await wait_in_thread(served, case.parent_ts, "DHL Express", since=mark)
    assert served.case_count() == 1


async def test_same_issue_a_day_later_is_added_to_the_existing_case(db: Database) -> None:
    clock = ManualClock(datetime.now(UTC))  # the dispatcher's retries are not exercised here
    async with serving(db, clock=clock) as served:
        seller = TelegramSeller(served)
        await seller.register()
        case = await seller.open_case(
            f"my order {ORDER} never arrived, the buyer is waiting since Monday")
        clock.advance(hours=30)  # a new conversation: the duplicate check (rule 1) applies
        mark = served.slack.mark()

        await seller.say(f"the delivery for {ORDER} is still missing today",
                         expect="already have a case on this issue")
        await seller.press(f"Add to {case.number}", expect=f"Added to {case.number}")

        await wait_in_thread(served, case.parent_ts, "still missing today", since=mark)
        assert served.case_count() == 1
