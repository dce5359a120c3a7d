"""Telegram adapter: updates -> engine messages (``translate``), outbox delivery (``sender``),
sellers' files for the agents' side (``files``)."""

from adapters.telegram.files import TelegramFileSource, file_base_url
from adapters.telegram.sender import TelegramSender
from adapters.telegram.translate import (
    MAX_CALLBACK_DATA_BYTES,
    CallbackDataTooLong,
    callback_query_id,
    edit_message_kwargs,
    inline_keyboard,
    seller_message_from_update,
    send_message_kwargs,
)

__all__ = [
    "MAX_CALLBACK_DATA_BYTES",
    "CallbackDataTooLong",
    "TelegramFileSource",
    "TelegramSender",
    "callback_query_id",
    "edit_message_kwargs",
    "file_base_url",
    "inline_keyboard",
    "seller_message_from_update",
    "send_message_kwargs",
]
