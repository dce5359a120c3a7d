"""Telegram updates in: the webhook endpoint (secret checked on every request) and a
long-polling loop for development. Both turn updates into `SellerMessage`s for the engine.

A malformed update (one that fails translation) is answered 200 and logged with the reason:
Telegram repeats every update answered with anything but 2xx, and holds back the chat's later
updates meanwhile, so a 4xx would block the seller's chat for an update that can never
succeed. An update that translates but fails in the engine (the database is down) is
answered 5xx, so that Telegram delivers it again. A message or button press in a group,
supergroup or channel is no seller's turn: answered 200 and logged, nothing else.
"""

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

from adapters.inbound_checks import MalformedPayload
from adapters.telegram.translate import (
    OutsidePrivateChat,
    callback_query_id,
    translate_update,
)
from bot.inbound_claims import EventInProgress
from bot.messages import ChatMembership, SellerMessage

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"

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
        """Process one update dict; False if it is not something the engine handles.

        Raises MalformedPayload (before anything is done) for an update that can never be
        processed; whatever the engine raises after that is passed on.
        """
        translated = translate_update(data, self.bot)
        if isinstance(translated, ChatMembership):
            if self.on_membership is None:
                return False
            await self.on_membership(translated)
            return True
        if isinstance(translated, OutsidePrivateChat):
            await self._decline_outside_private_chat(translated)
            return False
        if translated is None:
            return False
        msg = translated
        query_id = callback_query_id(msg)
        if query_id:
            # Stop the button's spinner; a failure here must not lose the press itself.
            with contextlib.suppress(TelegramError):
                await self.bot.answer_callback_query(query_id)
        await self.on_seller_message(msg)
        return True

    async def _decline_outside_private_chat(self, outside: OutsidePrivateChat) -> None:
        """Log a group's (or channel's) message or button press; it is not a seller's turn.

        Nothing is posted in the group: the adapter's only way to answer is through the
        engine, which takes every message as a turn of the sender's dialogue and would make
        the group the seller's address.
        """
        log.info("update %s from user %s in %s chat %s ignored: sellers write to the bot in "
                 "a private chat", outside.event_id, outside.user_id or "(anonymous)",
                 outside.chat_type, outside.chat_id)
        if outside.callback_query_id:
            with contextlib.suppress(TelegramError):  # only stops the button's spinner
                await self.bot.answer_callback_query(outside.callback_query_id)

    async def webhook(self, request: Request) -> Response:
        """POST /telegram/webhook: 401 without the right secret, 400 for a body that is not
        an update at all, 200 for a malformed update (ignored, logged), 5xx if processing a
        valid one failed (Telegram redelivers it). The server caps the body's size (413)."""
        if not self.webhook_secret:
            return _text(503, "webhook secret not configured (TELEGRAM_WEBHOOK_SECRET)")
        given = request.headers.get(SECRET_HEADER, "")
        if not hmac.compare_digest(given.encode(), self.webhook_secret.encode()):
            return _text(401, "missing or wrong secret token")
        body = await request.body()
        try:
            data = json.loads(body)
        except RecursionError:
            log.warning("Telegram webhook body nests too deeply to parse")
            return _text(400, "body nests too deeply")
        except (ValueError, UnicodeDecodeError):
            log.warning("Telegram webhook body is not JSON")
            return _text(400, "body is not JSON")
        update_id = data.get("update_id") if isinstance(data, dict) else None
        if isinstance(update_id, bool) or not isinstance(update_id, int):
            # Telegram never sends this: answering 400 holds back no seller's updates.
            log.warning("Telegram webhook body is not an update (no integer update_id)")
            return _text(400, "not a Telegram update (no update_id)")
        try:
            await self.handle_update(data)
        except EventInProgress as busy:
            # Another attempt holds the update: Telegram must bring it back later (by then it
            # is done, or that attempt died and its lease ran out).
            log.info("%s", busy)
            return PlainTextResponse("update in progress; retry later\n", status_code=503,
                                     headers={"Retry-After": "5"})
        except MalformedPayload as exc:
            log.warning("malformed Telegram update %s ignored: %s", update_id, exc.reason)
            return _text(200, f"malformed update ignored: {exc.reason}")
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
                    try:
                        await self.handle_update(update.to_dict())
                    except MalformedPayload as exc:  # it can never succeed: skip it
                        log.warning("malformed Telegram update %s ignored: %s",
                                    update.update_id, exc.reason)
                    except Exception:
                        # The database or the NLU is away: confirming the update would lose
                        # it. Ask for it again (from this one on) after a pause.
                        log.warning("update %s failed; fetching it again", update.update_id,
                                    exc_info=True)
                        await asyncio.wait({stopping}, timeout=2)
                        break
                    offset = update.update_id + 1
        finally:
            stopping.cancel()
