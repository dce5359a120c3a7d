"""Builders of the updates Telegram sends to bots (to a webhook, or in ``getUpdates``): private
messages, pressed inline buttons, and the bot being blocked or unblocked."""

from __future__ import annotations

import itertools
import json
import time
from typing import Any

_update_ids = itertools.count(100_000)


def _user(user_id: int, first_name: str, last_name: str | None,
          username: str | None) -> dict[str, Any]:
    user: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": first_name,
                            "language_code": "en"}
    if last_name:
        user["last_name"] = last_name
    if username:
        user["username"] = username
    return user


def message_update(
    text: str | None = None, *, user_id: int = 424242, first_name: str = "Ada",
    last_name: str | None = "Seller", username: str | None = "ada_sells",
    chat_id: int | None = None, message_id: int = 1, update_id: int | None = None,
    reply_to_message_id: int | None = None, caption: str | None = None,
    **media: Any,
) -> dict[str, Any]:
    """An update with a private message: text, or media (``photo=[...]``, ``document={...}``...).

    A text starting with a /command gets the ``bot_command`` entity Telegram adds.
    """
    chat = chat_id if chat_id is not None else user_id
    message: dict[str, Any] = {
        "message_id": message_id, "date": int(time.time()),
        "from": _user(user_id, first_name, last_name, username),
        "chat": {"id": chat, "type": "private", "first_name": first_name},
    }
    if text is not None:
        message["text"] = text
        if text.startswith("/"):
            length = len(text.split(maxsplit=1)[0])
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": length}]
    if caption is not None:
        message["caption"] = caption
    if reply_to_message_id is not None:
        message["reply_to_message"] = {
            "message_id": reply_to_message_id, "date": int(time.time()),
            "chat": message["chat"], "from": {"id": 7000000001, "is_bot": True,
                                              "first_name": "Frontdoor"},
            "text": "(an earlier bot message)",
        }
    message.update(media)
    return {"update_id": update_id if update_id is not None else next(_update_ids),
            "message": message}


def callback_update(
    data: str, *, user_id: int = 424242, first_name: str = "Ada", message_id: int = 1,
    chat_id: int | None = None, update_id: int | None = None, query_id: str | None = None,
) -> dict[str, Any]:
    """An update for a pressed inline-keyboard button carrying ``data``."""
    chat = chat_id if chat_id is not None else user_id
    update_id = update_id if update_id is not None else next(_update_ids)
    return {
        "update_id": update_id,
        "callback_query": {
            "id": query_id or f"cq{update_id}",
            "from": _user(user_id, first_name, None, None),
            "chat_instance": "-1",
            "data": data,
            "message": {
                "message_id": message_id, "date": int(time.time()),
                "chat": {"id": chat, "type": "private", "first_name": first_name},
                "from": {"id": 7000000001, "is_bot": True, "first_name": "Frontdoor"},
                "text": "(the message with the buttons)",
            },
        },
    }


def my_chat_member_update(status: str, *, user_id: int = 424242, first_name: str = "Ada",
                          update_id: int | None = None) -> dict[str, Any]:
    """The update Telegram sends when a user blocks the bot in their private chat (``status``
    "kicked") or unblocks it ("member")."""
    bot = {"id": 7000000001, "is_bot": True, "first_name": "Frontdoor"}

    def member(state: str) -> dict[str, Any]:
        # A "kicked" member always carries until_date (0: for ever).
        return {"user": bot, "status": state, **({"until_date": 0} if state == "kicked" else {})}

    return {
        "update_id": update_id if update_id is not None else next(_update_ids),
        "my_chat_member": {
            "chat": {"id": user_id, "type": "private", "first_name": first_name},
            "from": _user(user_id, first_name, None, None), "date": int(time.time()),
            "old_chat_member": member("member" if status == "kicked" else "kicked"),
            "new_chat_member": member(status),
        },
    }


def as_json(update: dict[str, Any]) -> bytes:
    """The update as the bytes Telegram would POST to a webhook."""
    return json.dumps(update).encode()
