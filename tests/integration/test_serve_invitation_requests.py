"""Invitation requests answered from Slack (issue 12, invites), end to end: a Telegram user's
request is posted by the real slack_sdk sender to the invites channel of the Slack stand-in;
an agent's Approve / Decline goes through the real slack-bolt app of `frontdoor serve`; the
requester hears the outcome through the real python-telegram-bot."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlencode

import pytest
from sqlalchemy import func, select

from bot import outbox as ob
from storage.database import Database
from storage.models import OutboxRow
from tests.integration.serve_relay_support import (
    AGENT,
    WAIT,
    Served,
    TelegramSeller,
    serving,
)
from tests.standins import slack_api

INVITES = "C0INVITES"
STRANGER = "U0NOTANAGENT"


@pytest.fixture
async def served(db: Database) -> AsyncIterator[Served]:
    async with serving(db, slack_invites_channel=INVITES) as running:
        yield running


async def request_invitation(served: Served, seller: TelegramSeller,
                             note: str) -> dict[str, Any]:
    """The seller asks for an invitation; the request's message as it landed in Slack."""
    mark = served.slack.mark()
    await seller.say("hi", expect="invitation only")
    await seller.press("Request an invitation")
    await seller.say(note, expect="Your request is with")
    posted = await served.slack.wait_for(
        "chat.postMessage", since=mark, timeout=WAIT,
        where=lambda r: r.get("channel") == INVITES)
    assert note in json.dumps(posted.get("blocks"))
    message = served.slack.messages[INVITES][-1]
    assert message["text"] == posted.get("text")
    return dict(json.loads(json.dumps(message)))  # as first posted: updates change the stand-in's


def buttons(message: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {e["text"]["text"]: e for b in message.get("blocks") or []
            if b["type"] == "actions" for e in b["elements"]}


async def press(served: Served, message: dict[str, Any], label: str,
                user: str = AGENT) -> None:
    """Press a button of ``message`` as Slack does: the payload carries the message."""
    button = buttons(message)[label]
    payload = slack_api.block_action_payload(button["action_id"], button["value"], user=user,
                                             channel=INVITES, message_ts=message["ts"])
    payload["message"] = {"type": "message", "ts": message["ts"], "text": message["text"],
                          "blocks": message["blocks"]}
    payload["actions"][0]["action_ts"] = str(time.time())
    response = await served.slack_post(urlencode({"payload": json.dumps(payload)}),
                                       "application/x-www-form-urlencoded")
    assert response.status_code == 200, response.text


async def test_approve_registers_the_requester(served: Served) -> None:
    seller = TelegramSeller(served, name="Ada")
    message = await request_invitation(served, seller, "Kettle Ltd: we sell tea kettles")
    assert "Ada" in message["text"] and "telegram" in message["text"]
    assert set(buttons(message)) == {"Approve", "Decline"}

    # Someone outside the agents' channels cannot decide.
    mark = served.slack.mark()
    await press(served, message, "Approve", user=STRANGER)
    await served.slack.wait_for("chat.postEphemeral", since=mark, timeout=WAIT,
                                where=lambda r: r.get("user") == STRANGER)
    assert served.slack.calls("chat.update") == []
    await seller.say("any update?", expect="invitation only")  # still not registered

    tg_mark = served.telegram.mark()
    await press(served, message, "Approve")
    updated = served.slack.find(INVITES, message["ts"])
    assert updated is not None
    assert f"Approved by <@{AGENT}>" in updated["text"]
    assert buttons(updated) == {}  # decided: no more buttons
    await served.telegram.wait_for(
        "sendMessage", since=tg_mark, timeout=WAIT,
        where=lambda r: r.get("chat_id") == seller.chat
        and "request was approved" in r.get("text", ""))
    await seller.say("any update?", expect="You have no active cases")

    # A second press (a stale message elsewhere) changes nothing and says so.
    mark = served.slack.mark()
    await press(served, message, "Decline")
    await served.slack.wait_for("chat.postEphemeral", since=mark, timeout=WAIT,
                                where=lambda r: "already approved" in r.get("text", ""))


async def test_decline_tells_the_requester_and_one_request_at_a_time(served: Served) -> None:
    seller = TelegramSeller(served, name="Bea")
    message = await request_invitation(served, seller, "Bea's Bakery, cakes by post")
    await seller.say("hello", expect="invitation only")
    await seller.press("Request an invitation", expect="already with our team")
    # Nothing more was queued for the channel (the answer comes after the commit).
    assert served.scalar(select(func.count()).select_from(OutboxRow)
                         .where(OutboxRow.kind == ob.CHANNEL_POST)) == 1

    tg_mark = served.telegram.mark()
    await press(served, message, "Decline")
    updated = served.slack.find(INVITES, message["ts"])
    assert updated is not None and f"Declined by <@{AGENT}>" in updated["text"]
    await served.telegram.wait_for(
        "sendMessage", since=tg_mark, timeout=WAIT,
        where=lambda r: r.get("chat_id") == seller.chat
        and "can't offer you an invitation" in r.get("text", ""))
    await seller.say("any update?", expect="invitation only")
