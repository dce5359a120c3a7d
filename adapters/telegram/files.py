"""Fetching sellers' files from Telegram (``getFile``, then the file download URL).

The Bot API hands out files up to 20 MB; a ``file_path`` from ``getFile`` stays valid for at
least an hour, so each fetch asks for a fresh one. The download URL contains the bot token:
it is used here and never shown to anyone.
"""

from __future__ import annotations

import posixpath
import warnings
from datetime import timedelta
from urllib.parse import urlsplit

from telegram import Bot
from telegram.error import (
    BadRequest,
    Forbidden,
    InvalidToken,
    RetryAfter,
    TelegramError,
)
from telegram.warnings import PTBDeprecationWarning

from adapters.files import FetchedFile, FileFetchFailed, FileUnavailable

#: The Bot API's download limit (getFile refuses bigger files).
MAX_DOWNLOAD_BYTES = 20 * 1024 * 1024
#: Seconds a download may take: 20 MB over a slow link, not the default 5 s of an API call.
#: A file item's send has room for it and an upload (``bot.dispatcher.FILE_LEASE``).
DOWNLOAD_TIMEOUT = 120.0


def file_base_url(api_base_url: str) -> str:
    """The file download base for a Bot API base URL (TELEGRAM_API_BASE_URL).

    Telegram serves files under ``/file/bot<token>/`` beside the methods' ``/bot<token>/``:
    ``https://api.telegram.org/bot`` -> ``https://api.telegram.org/file/bot``, and the same
    for a self-hosted Bot API server or a ``{token}`` placeholder (``.../bot{token}``).
    """
    head, sep, tail = api_base_url.rpartition("/bot")
    if sep:
        return f"{head}/file/bot{tail}"
    return api_base_url.rstrip("/") + "/file/bot"


class TelegramFileSource:
    """``FileSource`` for channel "telegram", over python-telegram-bot's ``Bot``.

    The bot must have been built with the matching ``base_file_url`` (``file_base_url``).
    """

    max_bytes: int | None = MAX_DOWNLOAD_BYTES

    def __init__(self, bot: Bot) -> None:
        self.bot = bot

    async def fetch(self, file_id: str) -> FetchedFile:
        """``getFile`` then download; raises ``FileUnavailable`` or ``FileFetchFailed``."""
        try:
            await self.bot.initialize()  # no-op once done
            file = await self.bot.get_file(file_id)
        except BadRequest as exc:
            # "file is too big", "invalid file_id", "wrong file_id or the file is
            # temporarily unavailable" (in practice: expired): asking again does not help.
            raise FileUnavailable(exc.message) from exc
        except InvalidToken as exc:
            # A configuration error, not the file's fault: let the retry cap decide.
            raise FileFetchFailed(f"Telegram refused the token ({exc.message})") from exc
        except TelegramError as exc:
            raise _transient(exc) from exc
        if file.file_size is not None and file.file_size > MAX_DOWNLOAD_BYTES:
            raise FileUnavailable(f"file is too big ({file.file_size} bytes)")
        if not file.file_path:
            raise FileUnavailable("Telegram gave no file path")
        try:
            content = await file.download_as_bytearray(read_timeout=DOWNLOAD_TIMEOUT)
        except (InvalidToken, Forbidden, BadRequest) as exc:
            # 4xx on the download URL of a path just handed out (PTB reports a 404 as
            # InvalidToken): the file is gone.
            raise FileUnavailable(f"download refused ({exc.message})") from exc
        except TelegramError as exc:
            raise _transient(exc) from exc
        return FetchedFile(bytes(content), _name_of(file.file_path))


def _name_of(file_path: str) -> str | None:
    # get_file turns file_path into the full download URL; keep only its last segment.
    name = posixpath.basename(urlsplit(file_path).path)
    return name or None


def _transient(exc: TelegramError) -> FileFetchFailed:
    """Rate limits, timeouts, 5xx (NetworkError) and anything unclassified: try again."""
    if isinstance(exc, RetryAfter):
        with warnings.catch_warnings():  # PTB 22 warns about the int form of retry_after
            warnings.simplefilter("ignore", PTBDeprecationWarning)
            value = exc.retry_after
        seconds = value.total_seconds() if isinstance(value, timedelta) else float(value)
        return FileFetchFailed(f"Telegram rate limit ({exc.message})", retry_after=seconds)
    return FileFetchFailed(f"Telegram: {exc.message}")
