"""Telegram's my_chat_member updates: a seller blocking ("kicked") or unblocking ("member") the
bot in their private chat becomes a ChatMembership for the engine; nothing else does."""

from __future__ import annotations

from telegram import Update

from adapters.telegram.translate import chat_membership_from_update, seller_message_from_update
from bot.messages import ChatMembership
from tests.standins import telegram_api


def test_blocking_the_bot_makes_the_chat_unreachable() -> None:
    update = telegram_api.my_chat_member_update("kicked", user_id=5150, update_id=81)

    assert chat_membership_from_update(update) == ChatMembership(
        channel="telegram", user_id="5150", chat_id="5150", reachable=False,
        event_id="telegram:81")
    assert seller_message_from_update(update) is None  # not a message for the dialogue


def test_unblocking_the_bot_makes_it_reachable_again() -> None:
    update = telegram_api.my_chat_member_update("member", user_id=5150, update_id=82)

    change = chat_membership_from_update(Update.de_json(update, None))

    assert change is not None and change.reachable and change.event_id == "telegram:82"


def test_group_membership_and_ordinary_updates_are_not_membership_changes() -> None:
    in_group = telegram_api.my_chat_member_update("kicked", user_id=5150)
    in_group["my_chat_member"]["chat"] = {"id": -100123, "type": "supergroup", "title": "Shop"}

    assert chat_membership_from_update(in_group) is None
    assert chat_membership_from_update(telegram_api.message_update("hello")) is None
    assert chat_membership_from_update(telegram_api.callback_update("x")) is None
