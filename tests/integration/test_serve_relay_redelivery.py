"""`frontdoor serve`: an event the platform delivers twice is processed once. A Slack retry of
an agent's message and a Telegram replay of a seller's update each reach the other side once
(checked with later marker messages, as delivery keeps order per chat and per thread). Server,
stand-ins and helpers: serve_relay_support."""

from __future__ import annotations

from sqlalchemy import func, select

from bot import domain as d
from storage.models import ProcessedEventRow
from tests.integration import serve_relay_support as relay_fixtures
from tests.integration.serve_relay_support import (
    SUPPORT,
    WAIT,
    OpenedCase,
    Served,
    TelegramSeller,
    next_agent_ts,
    posts_in_thread,
    sent_to,
    wait_in_thread,
)
from tests.standins import slack_api, telegram_api

# The server, a registered seller and an open case, shared with the other serve tests.
served = relay_fixtures.served
seller = relay_fixtures.seller
case = relay_fixtures.case


async def test_slack_retry_of_an_event_is_processed_once(
        served: Served, seller: TelegramSeller, case: OpenedCase) -> None:
    event = slack_api.thread_reply_event(SUPPORT, case.parent_ts, "The refund is on its way.",
                                         ts=next_agent_ts())
    first = await served.slack_event(event, "EvRETRY0001")
    again = await served.slack_event(event, "EvRETRY0001", retry_num=1)
    assert (first.status_code, again.status_code) == (200, 200)
    await served.agent_writes(case.parent_ts, "Marker after the retry.")

    await served.telegram.wait_for("sendMessage", timeout=WAIT,
                                   where=lambda r: "Marker after the retry" in r.get("text", ""))
    assert len(sent_to(served, seller, "refund is on its way")) == 1
    replies = [m for m in served.services.cases.get_case(case.number).messages
               if m.author_kind == d.AGENT]
    assert [m.text for m in replies] == ["The refund is on its way.", "Marker after the retry."]


def _first(served: Served, fragment: str) -> int:
    """Index of the first Telegram sendMessage containing ``fragment``."""
    return next(int(r.index) for r in served.telegram.calls("sendMessage")
                if fragment in r.get("text", ""))


async def test_telegram_replay_of_an_update_is_processed_once(
        served: Served, seller: TelegramSeller, case: OpenedCase) -> None:
    await wait_in_thread(served, case.parent_ts, "never arrived")
    update = telegram_api.message_update("The delivery tracking still shows Leipzig.",
                                         user_id=seller.user_id, message_id=900,
                                         update_id=777_001)
    first = await served.telegram_update(update)
    replay = await served.telegram_update(update)
    assert (first.status_code, replay.status_code) == (200, 200)
    # Markers: the seller's chat and the case thread each keep their order, so a second
    # processing of the update would have shown up before these.
    await seller.say("any update?", expect="In progress")
    await seller.say("Also the delivery slip is missing.")
    await wait_in_thread(served, case.parent_ts, "delivery slip is missing")

    assert len(posts_in_thread(served, case.parent_ts, "still shows Leipzig")) == 1
    acks = [r["text"] for r in served.telegram.calls("sendMessage")
            if r.get("chat_id") == seller.chat and r.index < _first(served, "In progress")]
    assert len([t for t in acks if "Added to" in t]) == 1
    assert served.scalar(select(func.count()).select_from(ProcessedEventRow).where(
        ProcessedEventRow.event_id == "telegram:777001")) == 1
