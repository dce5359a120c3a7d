"""`frontdoor serve`: a registered seller adds the bot to the shop's team group and types or
presses there. Nothing in a group is a seller's turn: the update is answered 200 and logged,
and agents' replies keep going to the seller's private chat (the group never becomes the
seller's address). The real python-telegram-bot against the Telegram stand-in, on SQLite and
PostgreSQL. Server, stand-ins and helpers: serve_relay_support."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from tests.integration import serve_relay_support as relay_fixtures
from tests.integration.serve_relay_support import WAIT, OpenedCase, Served, TelegramSeller
from tests.standins import telegram_api

# The server, a registered seller and an open case, shared with the other serve tests.
served = relay_fixtures.served
seller = relay_fixtures.seller
case = relay_fixtures.case

TEAM_GROUP = -1001234567890


def in_team_group(update: dict[str, Any]) -> dict[str, Any]:
    """``update`` as it comes from the shop's team group (a supergroup) instead."""
    message = update["message"] if "message" in update else update["callback_query"]["message"]
    message["chat"] = {"id": TEAM_GROUP, "type": "supergroup", "title": "Shop team"}
    return update


async def agent_reply_reaches(served: Served, case: OpenedCase, text: str) -> str:
    """An agent answers in the case's thread; the chat the reply was sent to."""
    mark = served.telegram.mark()
    await served.agent_writes(case.parent_ts, text)
    sent = await served.telegram.wait_for("sendMessage", since=mark, timeout=WAIT,
                                          where=lambda r: text in r.get("text", ""))
    return str(sent["chat_id"])


def said_in_team_group(served: Served) -> list[str]:
    return [r.get("text", "") for r in served.telegram.calls("sendMessage")
            if r.get("chat_id") == str(TEAM_GROUP)]


@pytest.fixture
def inbound_log(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.INFO, logger="adapters.telegram.inbound")
    return caplog


async def test_cases_typed_in_a_team_group_get_no_answer_and_replies_stay_private(
        served: Served, seller: TelegramSeller, case: OpenedCase,
        inbound_log: pytest.LogCaptureFixture) -> None:
    typed = in_team_group(telegram_api.message_update(
        "/cases@frontdoor_test_bot", user_id=seller.user_id, chat_id=TEAM_GROUP,
        message_id=77))

    response = await served.telegram_update(typed)

    assert response.status_code == 200, response.text
    reply_chat = await agent_reply_reaches(served, case, "Your refund of 80 EUR is approved")
    assert reply_chat == seller.chat
    assert said_in_team_group(served) == []
    declined = [r for r in inbound_log.records if f"supergroup chat {TEAM_GROUP}" in r.message]
    assert len(declined) == 1 and declined[0].exc_info is None  # one line, no traceback
    assert f"from user {seller.user_id}" in declined[0].message


async def test_a_button_pressed_in_a_team_group_only_stops_its_spinner(
        served: Served, seller: TelegramSeller, case: OpenedCase,
        inbound_log: pytest.LogCaptureFixture) -> None:
    await seller.say("/cases", expect=case.number)
    button = next(b for b in seller.buttons() if case.number in b["text"])
    pressed = in_team_group(telegram_api.callback_update(
        button["callback_data"], user_id=seller.user_id, chat_id=TEAM_GROUP,
        query_id="cq-in-group"))
    mark = served.telegram.mark()

    response = await served.telegram_update(pressed)

    assert response.status_code == 200, response.text
    answered = await served.telegram.wait_for("answerCallbackQuery", since=mark, timeout=WAIT)
    assert answered["callback_query_id"] == "cq-in-group"
    reply_chat = await agent_reply_reaches(served, case, "The carrier confirmed delivery")
    assert reply_chat == seller.chat
    assert said_in_team_group(served) == []
    assert any(f"supergroup chat {TEAM_GROUP}" in r.message for r in inbound_log.records)
