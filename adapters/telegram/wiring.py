"""Telegram for `frontdoor serve`: the Bot API client, the outbox sender, the file source the
Slack side copies sellers' files from, and the way updates come in (webhook or polling)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from telegram import Bot

from adapters.files import UrlFileSource
from adapters.telegram.files import TelegramFileSource, file_base_url
from adapters.telegram.inbound import (
    ALLOWED_UPDATES,
    MembershipHandler,
    SellerHandler,
    TelegramInbound,
)
from adapters.telegram.sender import TelegramSender

Hook = Callable[[], Awaitable[None]]


@dataclass
class TelegramParts:
    """What the server runs for Telegram; ``on_start``/``on_stop`` in order."""

    sender: TelegramSender
    file_source: TelegramFileSource
    webhook: Callable[[Request], Awaitable[Response]] | None = None
    polling: Callable[[asyncio.Event], Coroutine[Any, Any, None]] | None = None
    on_start: list[Hook] = field(default_factory=list)
    on_stop: list[Hook] = field(default_factory=list)


def build_telegram(*, token: str, api_base_url: str, webhook_secret: str | None, mode: str,
                   webhook_url: str | None, on_seller_message: SellerHandler,
                   on_membership: MembershipHandler,
                   agent_files: UrlFileSource | None = None) -> TelegramParts:
    bot = Bot(token, base_url=api_base_url, base_file_url=file_base_url(api_base_url))
    inbound = TelegramInbound(bot, on_seller_message, webhook_secret, on_membership)
    parts = TelegramParts(sender=TelegramSender(bot, agent_files=agent_files),
                          file_source=TelegramFileSource(bot))
    if mode == "polling":
        parts.polling = inbound.poll
    else:
        parts.webhook = inbound.webhook
    parts.on_start.append(bot.initialize)
    if mode != "polling" and webhook_url:
        url = webhook_url

        async def register_webhook() -> None:
            # Telegram then sends the secret with every update (checked by the webhook), and
            # my_chat_member updates: a seller blocking or unblocking the bot.
            await bot.set_webhook(url, secret_token=webhook_secret,
                                  allowed_updates=list(ALLOWED_UPDATES))

        parts.on_start.append(register_webhook)
    parts.on_stop.append(bot.shutdown)
    return parts
