"""`frontdoor serve`: what agents write in the case thread reaches the seller on Telegram.
A reply is relayed and marked with a reaction (and stamps the first response), an internal note
stays in Slack, an edit is relayed as an edit, and bot posts are not echoed. Server, stand-ins
and helpers: serve_relay_support."""

from __future__ import annotations

from tests.integration import serve_relay_support as relay_fixtures
from tests.integration.serve_relay_support import (
    AGENT,
    SUPPORT,
    WAIT,
    OpenedCase,
    Served,
    TelegramSeller,
    posts_in_thread,
    sent_to,
)
from tests.standins import slack_api

# The server, a registered seller and an open case, shared with the other serve tests.
served = relay_fixtures.served
seller = relay_fixtures.seller
case = relay_fixtures.case


async def test_agent_reply_reaches_the_seller_and_gets_a_reaction(
        served: Served, seller: TelegramSeller, case: OpenedCase) -> None:
    mark = served.slack.mark()
    agent_ts = await served.agent_writes(case.parent_ts, "We asked the carrier; news by Friday.")

    sent = await served.telegram.wait_for(
        "sendMessage", timeout=WAIT,
        where=lambda r: "We asked the carrier" in r.get("text", ""))
    assert sent["chat_id"] == seller.chat
    assert sent["text"].startswith(f"💬 {case.number}:")
    reaction = await served.slack.wait_for("reactions.add", since=mark, timeout=WAIT)
    assert reaction.params == {"channel": SUPPORT, "timestamp": agent_ts,
                               "name": "white_check_mark"}
    # The first response was stamped: the parent is updated in place (no deadline any more).
    update = await served.slack.wait_for("chat.update", since=mark, timeout=WAIT)
    assert (update["channel"], update["ts"]) == (SUPPORT, case.parent_ts)
    assert served.services.cases.get_case(case.number).case.first_response_at is not None
    # The agent's own message is not echoed into the thread by the bot.
    assert posts_in_thread(served, case.parent_ts, "We asked the carrier") == []


async def test_internal_note_does_not_reach_the_seller(
        served: Served, seller: TelegramSeller, case: OpenedCase) -> None:
    await served.agent_writes(case.parent_ts, "note: carrier says it was delivered to a locker")
    reply_ts = await served.agent_writes(case.parent_ts,
                                         "Could you check the parcel locker nearby?")

    # Replies to one chat go out in order, so the note would have come first.
    await served.telegram.wait_for("sendMessage", timeout=WAIT,
                                   where=lambda r: "parcel locker nearby" in r.get("text", ""))
    assert sent_to(served, seller, "delivered to a locker") == []
    messages = served.services.cases.get_case(case.number).messages
    note = next(m for m in messages if "locker" in m.text and m.internal)
    assert note.text == "carrier says it was delivered to a locker"
    # Only the real reply is marked as delivered (the marks, too, go out in thread order).
    marked = await served.slack.wait_for("reactions.add", timeout=WAIT)
    assert marked["timestamp"] == reply_ts
    assert len(served.slack.calls("reactions.add")) == 1


async def test_agent_edit_is_relayed_as_an_edit_and_bots_are_not_echoed(
        served: Served, seller: TelegramSeller, case: OpenedCase) -> None:
    agent_ts = await served.agent_writes(case.parent_ts, "Your refund is 12 EUR.")
    sent = await served.telegram.wait_for(
        "sendMessage", timeout=WAIT, where=lambda r: "refund is 12 EUR" in r.get("text", ""))

    edited = {"type": "message", "subtype": "message_changed", "channel": SUPPORT,
              "channel_type": "channel", "hidden": True,
              "message": {"type": "message", "user": AGENT, "text": "Your refund is 21 EUR.",
                          "ts": agent_ts, "thread_ts": case.parent_ts},
              "previous_message": {"type": "message", "user": AGENT, "ts": agent_ts,
                                   "text": "Your refund is 12 EUR."}}
    assert (await served.slack_event(edited)).status_code == 200
    bot_post = {"type": "message", "subtype": "bot_message", "channel": SUPPORT,
                "channel_type": "channel", "bot_id": slack_api.BOT_ID, "text": "Echo me?",
                "ts": "1999999999.000001", "thread_ts": case.parent_ts}
    assert (await served.slack_event(bot_post)).status_code == 200

    edit = await served.telegram.wait_for("editMessageText", timeout=WAIT)
    assert edit["message_id"] == str(sent.response["result"]["message_id"])
    assert edit["text"] == f"💬 {case.number}: Your refund is 21 EUR."
    await served.agent_writes(case.parent_ts, "Marker after the bot post.")
    await served.telegram.wait_for("sendMessage", timeout=WAIT,
                                   where=lambda r: "Marker after the bot" in r.get("text", ""))
    assert sent_to(served, seller, "Echo me") == []
