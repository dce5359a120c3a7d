"""Who the bot is on Telegram (``getMe``), for the links that open a chat with it.

An invitation is best handed over as a deep link: ``https://t.me/<bot>?start=CODE`` opens the
chat with the bot and, on "Start", sends ``/start CODE``, which registers the seller.
"""

from __future__ import annotations

import re

from telegram import Bot
from telegram.error import InvalidToken, TelegramError

from adapters.telegram.sender import DEFAULT_BASE_URL

#: What Telegram accepts as a ``start`` parameter: up to 64 of A-Z, a-z, 0-9, _ and -.
_START_PARAMETER = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class BotIdentityUnavailable(Exception):
    """Telegram did not say who the bot is (bad token, Telegram unreachable); the message
    says why, without the token."""


async def bot_username(token: str, base_url: str = DEFAULT_BASE_URL) -> str:
    """The bot's username, from ``getMe`` (``base_url`` as TELEGRAM_API_BASE_URL)."""
    try:
        async with Bot(token, base_url=base_url) as bot:  # initialising it calls getMe
            username = bot.username
    except InvalidToken:
        raise BotIdentityUnavailable("Telegram refused the bot token (getMe)") from None
    except TelegramError as exc:
        # PTB may quote the request; the token is part of its URL.
        reason = exc.message.replace(token, "<token>")
        raise BotIdentityUnavailable(f"Telegram's getMe failed: {reason}") from None
    except Exception as exc:  # the connection itself (DNS, refused, TLS)
        raise BotIdentityUnavailable(f"Telegram's getMe failed: {type(exc).__name__}") from None
    if not username:
        raise BotIdentityUnavailable("Telegram's getMe gave no username")
    return username


def start_link(username: str, code: str) -> str | None:
    """The deep link that starts a chat with the bot and sends ``/start CODE``; None if the
    code has characters a ``start`` parameter cannot carry."""
    if not _START_PARAMETER.match(code):
        return None
    return f"https://t.me/{username}?start={code}"
