"""Setting a bot up on Telegram, for ``frontdoor telegram setup`` and ``status``: the webhook
with its secret, the command menu and the bot's profile texts; and what Telegram reports about
the webhook (``getWebhookInfo``).

The CLI knows no Telegram SDK: it passes plain values in and gets plain values back. Failures
are raised as ``TelegramSetupFailed`` with a message that never contains the token (PTB may
quote the request URL, which does).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from telegram import Bot, BotCommand
from telegram.error import InvalidToken, TelegramError

from adapters.telegram.inbound import ALLOWED_UPDATES


class TelegramSetupFailed(Exception):
    """Telegram refused a setup call or could not be reached; the message says which."""


@dataclass(frozen=True)
class BotProfile:
    """What the bot shows: the command menu (name without "/", description), the description
    of an empty chat ("What can this bot do?") and the short one on its profile."""

    commands: Sequence[tuple[str, str]]
    description: str
    short_description: str
    #: The same in other languages, by Telegram's two-letter ``language_code`` ("zh"): users
    #: whose app is set to that language see these.
    translations: Mapping[str, BotProfile] = field(default_factory=dict)


@dataclass(frozen=True)
class WebhookStatus:
    """``getWebhookInfo``: where updates go, how many wait, and the last delivery error."""

    url: str
    pending_update_count: int
    last_error_date: datetime | None = None
    last_error_message: str | None = None
    max_connections: int | None = None
    allowed_updates: tuple[str, ...] = ()


async def set_up_bot(token: str, api_base_url: str, *, webhook_url: str | None,
                     webhook_secret: str | None, profile: BotProfile) -> list[str]:
    """Register the webhook (when ``webhook_url`` is given), the menu and the profile texts;
    the steps done, in order."""
    done: list[str] = []
    async with _bot(token, api_base_url) as bot:
        try:
            if webhook_url:
                # Telegram then sends the secret with every update, and my_chat_member
                # updates (a seller blocking the bot), as ``frontdoor serve`` registers it.
                await bot.set_webhook(webhook_url, secret_token=webhook_secret,
                                      allowed_updates=list(ALLOWED_UPDATES))
                done.append(f"webhook set to {webhook_url}")
            for code, texts in ((None, profile), *profile.translations.items()):
                await bot.set_my_commands([BotCommand(name, text)
                                           for name, text in texts.commands],
                                          language_code=code)
                await bot.set_my_description(texts.description, language_code=code)
                await bot.set_my_short_description(texts.short_description,
                                                   language_code=code)
            done.append("command menu: " + " ".join(f"/{n}" for n, _ in profile.commands))
            done.append("description and short description set")
            if profile.translations:
                done.append("the same for app languages: "
                            + ", ".join(sorted(profile.translations)))
        except TelegramError as exc:
            raise _failed(exc, token, done) from None
    return done


async def webhook_status(token: str, api_base_url: str) -> WebhookStatus:
    """What Telegram has for the bot's webhook."""
    async with _bot(token, api_base_url) as bot:
        try:
            info = await bot.get_webhook_info()
        except TelegramError as exc:
            raise _failed(exc, token, []) from None
    return WebhookStatus(url=info.url, pending_update_count=info.pending_update_count,
                         last_error_date=info.last_error_date,
                         last_error_message=info.last_error_message,
                         max_connections=info.max_connections,
                         allowed_updates=tuple(info.allowed_updates or ()))


class _bot:
    """``Bot`` as a context manager whose start-up failures (getMe) say what went wrong
    without the token."""

    def __init__(self, token: str, api_base_url: str) -> None:
        self._token = token
        self._bot = Bot(token, base_url=api_base_url)

    async def __aenter__(self) -> Bot:
        try:
            await self._bot.initialize()
        except InvalidToken:
            raise TelegramSetupFailed("Telegram refused the bot token (getMe)") from None
        except TelegramError as exc:
            raise _failed(exc, self._token, []) from None
        except Exception as exc:  # the connection itself (DNS, refused, TLS)
            raise TelegramSetupFailed(
                f"Telegram could not be reached: {type(exc).__name__}") from None
        return self._bot

    async def __aexit__(self, *exc_info: object) -> None:
        await self._bot.shutdown()


def _failed(exc: TelegramError, token: str, done: list[str]) -> TelegramSetupFailed:
    reason = exc.message.replace(token, "<token>")
    after = f" (after: {'; '.join(done)})" if done else ""
    return TelegramSetupFailed(f"Telegram refused: {reason}{after}")
