"""Telegram updates in: the webhook endpoint (secret checked on every request) and a
long-polling loop for development. Both turn updates into `SellerMessage`s for the engine."""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from telegram import Bot
from telegram.error import TelegramError

from adapters.telegram.translate import (
    callback_query_id,
    chat_membership_from_update,
    seller_message_from_update,
)
from bot.messages import ChatMembership, SellerMessage

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
# Telegram's updates are small; anything much bigger is not from Telegram.
MAX_UPDATE_BYTES = 1_000_000

SellerHandler = Callable[[SellerMessage], Awaitable[object]]
MembershipHandler = Callable[[ChatMembership], Awaitable[object]]

#: The updates we ask Telegram for (webhook and polling alike). ``my_chat_member`` tells us
#: when a seller blocks or unblocks the bot; Telegram keeps the last list it was given.
ALLOWED_UPDATES = ("message", "callback_query", "my_chat_member")


def _text(status: int, message: str) -> Response:
    return PlainTextResponse(message + "\n", status_code=status)


class TelegramInbound:
    """Feeds Telegram updates to ``on_seller_message`` (the engine)."""

    def __init__(self, bot: Bot, on_seller_message: SellerHandler,
                 webhook_secret: str | None,
                 on_membership: MembershipHandler | None = None) -> None:
        self.bot = bot
        self.on_seller_message = on_seller_message
        self.webhook_secret = webhook_secret
        self.on_membership = on_membership

    async def handle_update(self, data: dict[str, Any]) -> bool:
        """Process one update dict; False if it is not something the engine handles."""
        membership = chat_membership_from_update(data, self.bot)
        if membership is not None:
            if self.on_membership is None:
                return False
            await self.on_membership(membership)
            return True
        msg = seller_message_from_update(data, self.bot)
        if msg is None:
            return False
        query_id = callback_query_id(msg)
        if query_id:
            # Stop the button's spinner; a failure here must not lose the press itself.
            with contextlib.suppress(TelegramError):
                await self.bot.answer_callback_query(query_id)
        await self.on_seller_message(msg)
        return True

    async def webhook(self, request: Request) -> Response:
        """POST /telegram/webhook: 401 without the right secret, 400 for a malformed body."""
        if not self.webhook_secret:
            return _text(503, "webhook secret not configured (TELEGRAM_WEBHOOK_SECRET)")
        given = request.headers.get(SECRET_HEADER, "")
        if not hmac.compare_digest(given.encode(), self.webhook_secret.encode()):
            return _text(401, "missing or wrong secret token")
        body = await request.body()
        if len(body) > MAX_UPDATE_BYTES:
            return _text(413, "update too large")
        try:
            data = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            return _text(400, "body is not JSON")
        if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
            return _text(400, "not a Telegram update (no update_id)")
        try:
            await self.handle_update(data)
        except (KeyError, TypeError, ValueError) as exc:
            log.warning("malformed Telegram update %s: %s", data.get("update_id"), exc)
            return _text(400, f"malformed update: {type(exc).__name__}")
        return _text(200, "ok")

    async def poll(self, stop: asyncio.Event, timeout: int = 25) -> None:
        """Long polling (development): getUpdates until ``stop`` is set.

        A pending long poll is abandoned as soon as ``stop`` is set, so shutting down never
        waits for Telegram's poll timeout; the updates it would have returned are not
        confirmed and come again on the next start (and replays are processed once).
        """
        with contextlib.suppress(TelegramError):
            await self.bot.delete_webhook()
        offset: int | None = None
        stopping = asyncio.ensure_future(stop.wait())
        try:
            while not stop.is_set():
                fetch = asyncio.ensure_future(
                    self.bot.get_updates(offset=offset, timeout=timeout,
                                         allowed_updates=ALLOWED_UPDATES))
                await asyncio.wait({fetch, stopping}, return_when=asyncio.FIRST_COMPLETED)
                if not fetch.done():
                    fetch.cancel()
                    with contextlib.suppress(asyncio.CancelledError, TelegramError):
                        await fetch
                    break
                try:
                    updates = fetch.result()
                except TelegramError:
                    log.warning("getUpdates failed; retrying", exc_info=True)
                    await asyncio.wait({stopping}, timeout=2)
                    continue
                for update in updates:
                    offset = update.update_id + 1
                    try:
                        await self.handle_update(update.to_dict())
                    except Exception:  # one bad update must not stop polling
                        log.exception("update %s failed", update.update_id)
        finally:
            stopping.cancel()
