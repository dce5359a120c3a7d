"""`frontdoor serve`: when the platforms refuse a delivery. Slack's 429 and 5xx and Telegram's
flood wait are retried (honouring Retry-After) and the message arrives once; a seller who blocked
the bot (Telegram 403) is reported in the case thread and never tried again. Server, stand-ins
and helpers: serve_relay_support."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select

from storage.models import OutboxRow
from tests.integration import serve_relay_support as relay_fixtures
from tests.integration.serve_relay_support import (
    WAIT,
    OpenedCase,
    Served,
    TelegramSeller,
    posts_in_thread,
    sent_to,
    wait_in_thread,
)
from tests.standins import slack_api, telegram_api

# The server, a registered seller and an open case, shared with the other serve tests.
served = relay_fixtures.served
seller = relay_fixtures.seller
case = relay_fixtures.case


async def test_slack_429_and_500s_are_retried_and_the_post_arrives_once(
        served: Served, seller: TelegramSeller, case: OpenedCase) -> None:
    await wait_in_thread(served, case.parent_ts, "never arrived")  # nothing else in flight
    mark = served.slack.mark()
    served.slack.fail_next("chat.postMessage", slack_api.rate_limited(1))
    served.slack.fail_next("chat.postMessage", slack_api.server_error(500))
    served.slack.fail_next("chat.postMessage", slack_api.server_error(503))

    await seller.say("The delivery tracking still shows Leipzig.", expect="Added to")

    posted = await wait_in_thread(served, case.parent_ts, "still shows Leipzig", since=mark)
    attempts = [r for r in served.slack.calls("chat.postMessage") if r.index >= mark]
    assert [r.status for r in attempts] == [429, 500, 503, 200]
    assert attempts[1].received_at - attempts[0].received_at >= 0.95  # Retry-After: 1
    # Order per thread: a later post arrives after it, and the first went out only once.
    await seller.say("One more detail: the buyer is in Berlin.", expect="Added to")
    await wait_in_thread(served, case.parent_ts, "buyer is in Berlin", since=posted.index)
    assert len([r for r in posts_in_thread(served, case.parent_ts, "still shows Leipzig")
                if r.status == 200]) == 1
    # The stand-in answers before the dispatcher records the delivery: wait for the record.
    pending = select(func.count()).select_from(OutboxRow).where(
        OutboxRow.status == "pending", OutboxRow.destination == "slack",
        OutboxRow.kind == "agents.thread_post")
    deadline = asyncio.get_running_loop().time() + WAIT
    while served.scalar(pending) and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.05)
    assert served.scalar(pending) == 0


async def test_telegram_flood_wait_is_honoured_and_the_reply_arrives_once(
        served: Served, seller: TelegramSeller, case: OpenedCase) -> None:
    served.telegram.fail_next("sendMessage", telegram_api.flood_wait(1))
    await served.agent_writes(case.parent_ts, "Please send a photo of the label.")

    sent = await served.telegram.wait_for(
        "sendMessage", timeout=WAIT,
        where=lambda r: "photo of the label" in r.get("text", "") and r.status == 200)
    limited = [r for r in served.telegram.calls("sendMessage") if r.status == 429]
    assert len(limited) == 1 and sent.received_at - limited[0].received_at >= 0.95
    await served.agent_writes(case.parent_ts, "Marker after the flood wait.")
    await served.telegram.wait_for("sendMessage", timeout=WAIT,
                                   where=lambda r: "Marker after" in r.get("text", ""))
    assert len([r for r in sent_to(served, seller, "photo of the label")
                if r.status == 200]) == 1


async def test_telegram_403_is_reported_in_the_thread_and_not_retried(
        served: Served, seller: TelegramSeller, case: OpenedCase) -> None:
    served.telegram.block_chat(seller.chat)
    mark = served.slack.mark()
    await served.agent_writes(case.parent_ts, "We need the invoice, please.")

    warning = await wait_in_thread(served, case.parent_ts, "no longer accepts messages",
                                   since=mark)
    assert "bot was blocked by the user" in warning["text"]
    await served.agent_writes(case.parent_ts, "Are you still there?")
    await wait_in_thread(served, case.parent_ts, "Not delivered to the seller", since=mark)

    refused = sent_to(served, seller, "invoice")
    assert [r.status for r in refused] == [403]  # tried once, never again
    assert sent_to(served, seller, "still there") == []  # the blocked chat is not tried
    assert served.scalar(select(func.count()).select_from(OutboxRow).where(
        OutboxRow.status == "pending", OutboxRow.destination == "telegram")) == 0
    assert served.slack.calls("reactions.add") == []  # nothing was delivered
