"""What every inbound platform request must satisfy before the engine or the agent desk sees it.

A request that fails these checks is *malformed*: it can never succeed, however often the
platform sends it again, so the adapters answer it without a 5xx and log the reason. What
passes is safe to store: ids fit their columns and no text carries a character the database
refuses, so a storage error after this point means the storage is failing (transient: 5xx,
and the platform redelivers).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from bot.dialogue.cleaning import is_storable, storable
from bot.messages import Attachment, ChatMembership, SellerMessage

#: Sizes of the columns platform ids are stored in (storage/models.py; a test keeps them in
#: step): identities' external id and address, message references, processed events.
MAX_ID_CHARS = 100
MAX_EVENT_ID_CHARS = 200
#: Platform file ids live in JSON, not in a column; this only keeps nonsense out.
MAX_FILE_ID_CHARS = 1000
#: Platform payloads nest a dozen levels at most; far deeper JSON is an attack on recursion.
MAX_NESTING = 32


class MalformedPayload(ValueError):
    """A platform request that can never be processed; ``reason`` says why, for the log."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def check_nesting(value: Any, limit: int = MAX_NESTING) -> None:
    """Raise MalformedPayload if ``value`` (parsed JSON) nests deeper than ``limit``.

    Iterative on purpose: the point is to refuse what would exhaust recursion elsewhere.
    """
    level: list[Any] = [value]
    depth = 0
    while level:
        depth += 1
        if depth > limit:
            raise MalformedPayload(f"JSON nests deeper than {limit} levels")
        children: list[Any] = []
        for item in level:
            if isinstance(item, Mapping):
                children.extend(v for v in item.values() if isinstance(v, Mapping | list))
            elif isinstance(item, list):
                children.extend(v for v in item if isinstance(v, Mapping | list))
        level = children


def check_id(value: object, what: str, limit: int = MAX_ID_CHARS) -> str:
    """``value`` as a platform id: a non-empty string of at most ``limit`` characters that
    can be stored; else MalformedPayload naming ``what``."""
    if not isinstance(value, str) or not value:
        raise MalformedPayload(f"{what} is missing or not a string")
    if len(value) > limit:
        raise MalformedPayload(f"{what} is {len(value)} characters long (at most {limit})")
    if not is_storable(value) or not value.isprintable():
        raise MalformedPayload(f"{what} contains control characters")
    return value


def _optional_id(value: str | None, what: str, limit: int = MAX_ID_CHARS) -> str | None:
    return None if value is None else check_id(value, what, limit)


def _optional_text(value: str | None, what: str) -> str | None:
    return None if value is None else _text(value, what)


def _text(value: str, what: str) -> str:
    if not isinstance(value, str):
        raise MalformedPayload(f"{what} is not a string")
    return storable(value)


def checked_seller_message(msg: SellerMessage) -> SellerMessage:
    """``msg`` with its ids checked (MalformedPayload if one cannot be stored) and its texts
    stripped of characters no database takes (the engine cleans them further)."""
    check_id(msg.user_id, "sender id")
    _optional_id(msg.chat_id, "chat id")
    _optional_id(msg.platform_message_id, "message id")
    _optional_id(msg.reply_to_message_id, "replied-to message id")
    _optional_id(msg.event_id, "event id", MAX_EVENT_ID_CHARS)
    return replace(
        msg,
        text=_text(msg.text, "text"),
        display_name=_optional_text(msg.display_name, "sender's name"),
        button=_optional_text(msg.button, "button payload"),
        command=_optional_text(msg.command, "command"),
        command_args=_text(msg.command_args, "command arguments"),
        attachments=tuple(_checked_attachment(a) for a in msg.attachments),
    )


def _checked_attachment(attachment: Attachment) -> Attachment:
    check_id(attachment.file_id, "file id", MAX_FILE_ID_CHARS)
    if attachment.size is not None and (isinstance(attachment.size, bool)
                                        or not isinstance(attachment.size, int)
                                        or attachment.size < 0):
        raise MalformedPayload("file size is not a whole number of bytes")
    return replace(attachment, file_name=_optional_text(attachment.file_name, "file name"),
                   mime_type=_optional_text(attachment.mime_type, "file type"),
                   url=_optional_text(attachment.url, "file URL"))


def checked_membership(change: ChatMembership) -> ChatMembership:
    """``change`` if its ids can be stored, else MalformedPayload."""
    check_id(change.user_id, "sender id")
    check_id(change.chat_id, "chat id")
    _optional_id(change.event_id, "event id", MAX_EVENT_ID_CHARS)
    return change


def required_object(parent: Mapping[str, Any], key: str, where: str) -> Mapping[str, Any]:
    value = parent.get(key)
    if not isinstance(value, Mapping):
        raise MalformedPayload(f"{where}: {key} is missing or not an object")
    return value


def required_string(parent: Mapping[str, Any], key: str, where: str) -> str:
    value = parent.get(key)
    if not isinstance(value, str) or not value:
        raise MalformedPayload(f"{where}: {key} is missing or not a string")
    return value
