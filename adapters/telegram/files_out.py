"""Agents' files to a Telegram seller: the bytes from the agents' platform (``UrlFileSource``),
then ``sendPhoto`` for a picture Telegram shows inline, ``sendDocument`` for anything else
(and for a picture ``sendPhoto`` refuses as a photo: too tall, too wide, unreadable to it).

A file that can never go (no way to fetch it, a host that is not the agents' platform, over
the Bot API's 50 MB upload limit) is reported permanent: the dispatcher dead-letters it and
the case's thread gets a note. Download trouble that may pass is retried like any send.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable

from telegram import Bot, InputFile, Message
from telegram.error import BadRequest

from adapters.files import FileFetchFailed, FileUnavailable, UrlFileSource
from bot.messages import Attachment
from bot.outbox import DeliveryResult, OutboundItem

log = logging.getLogger(__name__)

#: The Bot API's upload limit for sendDocument.
MAX_UPLOAD_BYTES = 50 * 1024 * 1024
#: sendPhoto takes up to 10 MB of JPEG, PNG or WebP; other pictures go as documents.
MAX_PHOTO_BYTES = 10 * 1024 * 1024
PHOTO_TYPES = frozenset({"image/jpeg", "image/png", "image/webp"})
#: Seconds an upload may take (the default 5 s of an API call is for small requests).
UPLOAD_TIMEOUT = 120.0
#: sendPhoto's refusals of the picture itself (PHOTO_INVALID_DIMENSIONS, PHOTO_EXT_INVALID,
#: IMAGE_PROCESS_FAILED...); python-telegram-bot passes them on capitalised ("Photo_...").
_REFUSED_AS_PHOTO = re.compile(r"\b(?:photo_\w+|image_process_failed)\b", re.IGNORECASE)


def agent_file_call(bot: Bot, files: UrlFileSource | None,
                    item: OutboundItem) -> Callable[[], Awaitable[DeliveryResult]]:
    """The send of one SELLER_FILE item; payload errors raise here, before any traffic."""
    payload = item.payload
    attachment = Attachment.from_dict(payload["attachment"])
    chat_id = str(payload["address"])
    caption = str(payload.get("caption") or "") or None
    name = attachment.file_name or attachment.file_id or "file"

    async def send() -> DeliveryResult:
        if files is None or not attachment.url:
            return _cannot("this server cannot fetch the agents' files")
        if attachment.size is not None and attachment.size > MAX_UPLOAD_BYTES:
            return _cannot("over Telegram's 50 MB upload limit")
        try:
            fetched = await files.fetch_url(attachment.url, MAX_UPLOAD_BYTES)
        except FileUnavailable as exc:
            return _cannot(str(exc))
        except FileFetchFailed as exc:
            return DeliveryResult(ok=False, retry_after=exc.retry_after,
                                  error=f"telegram: fetching the file: {exc}")
        if (attachment.mime_type or "").lower() in PHOTO_TYPES and \
                len(fetched.content) <= MAX_PHOTO_BYTES:
            message = await _send_picture(bot, chat_id, fetched.content, name, caption)
        else:
            message = await _send_document(bot, chat_id, fetched.content, name, caption)
        return DeliveryResult(ok=True, platform_message_id=str(message.message_id),
                              platform_chat_id=str(message.chat.id))

    return send


async def _send_picture(bot: Bot, chat_id: str, content: bytes, name: str,
                        caption: str | None) -> Message:
    """sendPhoto, or sendDocument with the same bytes when Telegram will not take the picture
    as a photo: that refusal is permanent, and the seller can still open it as a file."""
    try:
        return await bot.send_photo(chat_id, InputFile(content, filename=name),
                                    caption=caption, write_timeout=UPLOAD_TIMEOUT,
                                    read_timeout=UPLOAD_TIMEOUT)
    except BadRequest as exc:
        if not _REFUSED_AS_PHOTO.search(exc.message):
            raise
        log.info("Telegram refused %s as a photo (%s); sending it as a document", name,
                 exc.message)
    return await _send_document(bot, chat_id, content, name, caption)


async def _send_document(bot: Bot, chat_id: str, content: bytes, name: str,
                         caption: str | None) -> Message:
    return await bot.send_document(chat_id, InputFile(content, filename=name), caption=caption,
                                   write_timeout=UPLOAD_TIMEOUT, read_timeout=UPLOAD_TIMEOUT)


def _cannot(reason: str) -> DeliveryResult:
    return DeliveryResult(ok=False, permanent=True, error=reason)
