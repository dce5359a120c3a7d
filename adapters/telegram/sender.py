"""The Telegram outbox sender: delivers seller-bound items with python-telegram-bot's ``Bot``.

Platform failures are reported as ``DeliveryResult``s, never raised, classified so the
dispatcher knows whether to retry:

===============================================  ==========================================
PTB exception                                    result
===============================================  ==========================================
``RetryAfter`` (429 flood control)               retry after the seconds Telegram asked
``Forbidden`` (403: blocked, deactivated user)   permanent, ``extra["unreachable"] = True``
``BadRequest`` (400), ``InvalidToken``,          permanent
``ChatMigrated``, ``EndPointNotFound``
``TimedOut``, ``NetworkError`` (incl. 5xx)       retryable
===============================================  ==========================================

"message is not modified" (400 on an edit) counts as delivered: it is what a retried edit
that already went through gets back.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Awaitable, Callable
from datetime import timedelta
from types import TracebackType
from typing import Self

from telegram import Bot
from telegram.error import (
    BadRequest,
    ChatMigrated,
    EndPointNotFound,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
)
from telegram.warnings import PTBDeprecationWarning

from adapters.files import UrlFileSource
from adapters.telegram.files import file_base_url
from adapters.telegram.files_out import agent_file_call
from adapters.telegram.translate import (
    CallbackDataTooLong,
    edit_message_kwargs,
    send_message_kwargs,
)
from bot.messages import Reply
from bot.outbox import (
    SELLER_DELETE,
    SELLER_EDIT,
    SELLER_FILE,
    SELLER_MESSAGE,
    TELEGRAM,
    DeliveryResult,
    OutboundItem,
)

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://api.telegram.org/bot"


class TelegramSender:
    """``OutboxSender`` for destination "telegram" (SELLER_MESSAGE, SELLER_EDIT, SELLER_FILE,
    SELLER_DELETE: ``deleteMessage``, which Telegram allows for 48 hours).

    Build it from a token (``TelegramSender.create``) or share an existing ``Bot`` (e.g. the
    one the webhook application uses). The bot is initialised on first use; ``close()`` shuts
    it down only if this sender created it.
    """

    destination = TELEGRAM

    def __init__(self, bot: Bot, *, owns_bot: bool = False,
                 agent_files: UrlFileSource | None = None) -> None:
        self.bot = bot
        self._owns_bot = owns_bot
        # Where SELLER_FILE items get their bytes (the agents' platform, e.g. Slack).
        self.agent_files = agent_files

    @classmethod
    def create(cls, token: str, base_url: str = DEFAULT_BASE_URL) -> TelegramSender:
        """A sender with its own ``Bot``. ``base_url`` as TELEGRAM_API_BASE_URL: the token is
        appended to it (or replaces a ``{token}`` placeholder)."""
        return cls(Bot(token, base_url=base_url, base_file_url=file_base_url(base_url)),
                   owns_bot=True)

    async def close(self) -> None:
        if self._owns_bot:
            await self.bot.shutdown()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        await self.close()

    async def deliver(self, item: OutboundItem) -> DeliveryResult:
        """Send or edit one seller message; report the outcome (never raises)."""
        try:
            call = self._call_for(item)
        except CallbackDataTooLong as exc:
            return DeliveryResult(ok=False, permanent=True, error=f"telegram: {exc}")
        except (KeyError, TypeError, ValueError) as exc:
            return DeliveryResult(ok=False, permanent=True,
                                  error=f"telegram: invalid {item.kind} payload: {exc!r}")
        try:
            await self.bot.initialize()  # no-op once done; does getMe the first time
            return await call()
        except TelegramError as exc:
            return _failure(item, exc)
        except Exception as exc:  # the contract: report, never raise
            log.exception("unexpected error delivering outbox item %s", item.id)
            return DeliveryResult(ok=False, error=f"telegram: unexpected {exc!r}")

    def _call_for(self, item: OutboundItem) -> Callable[[], Awaitable[DeliveryResult]]:
        payload = item.payload
        if item.kind == SELLER_MESSAGE:
            kwargs = send_message_kwargs(Reply.from_dict(payload["reply"]), payload["address"])

            async def send() -> DeliveryResult:
                message = await self.bot.send_message(**kwargs)
                return DeliveryResult(ok=True, platform_message_id=str(message.message_id),
                                      platform_chat_id=str(message.chat.id))

            return send
        if item.kind == SELLER_EDIT:
            kwargs = edit_message_kwargs(payload["address"], payload["platform_message_id"],
                                         str(payload["text"]))

            async def edit() -> DeliveryResult:
                try:
                    await self.bot.edit_message_text(**kwargs)
                except BadRequest as exc:
                    if "message is not modified" not in exc.message.lower():
                        raise
                return DeliveryResult(ok=True,
                                      platform_message_id=str(kwargs["message_id"]),
                                      platform_chat_id=str(kwargs["chat_id"]))

            return edit
        if item.kind == SELLER_FILE:
            return agent_file_call(self.bot, self.agent_files, item)
        if item.kind == SELLER_DELETE:
            chat_id, message_id = str(payload["address"]), int(payload["platform_message_id"])

            async def delete() -> DeliveryResult:
                try:
                    await self.bot.delete_message(chat_id=chat_id, message_id=message_id)
                except BadRequest as exc:
                    # Gone already (the seller deleted it, or a retry after a lost answer).
                    if "not found" not in exc.message.lower():
                        raise
                return DeliveryResult(ok=True, platform_message_id=str(message_id),
                                      platform_chat_id=chat_id)

            return delete
        raise ValueError(f"unsupported kind {item.kind!r}")


def _failure(item: OutboundItem, exc: TelegramError) -> DeliveryResult:
    """Classify a PTB error. Order matters: BadRequest and TimedOut are NetworkErrors."""
    if isinstance(exc, RetryAfter):
        return DeliveryResult(ok=False, retry_after=_seconds(exc),
                              error=f"telegram: rate limited ({exc.message})")
    if isinstance(exc, Forbidden):
        # The seller blocked the bot or deleted the account: nothing will get through.
        return DeliveryResult(ok=False, permanent=True, extra={"unreachable": True},
                              error=f"telegram: seller unreachable ({exc.message})")
    if isinstance(exc, ChatMigrated):
        return DeliveryResult(ok=False, permanent=True,
                              extra={"migrate_to_chat_id": str(exc.new_chat_id)},
                              error=f"telegram: {exc.message}")
    if isinstance(exc, BadRequest | InvalidToken | EndPointNotFound):
        return DeliveryResult(ok=False, permanent=True, error=f"telegram: {exc.message}")
    if isinstance(exc, NetworkError):
        return DeliveryResult(ok=False, error=f"telegram: {exc.message}")
    # Unknown TelegramError (e.g. Conflict): let the dispatcher's attempt cap decide.
    log.warning("unclassified Telegram error for outbox item %s: %r", item.id, exc)
    return DeliveryResult(ok=False, error=f"telegram: {exc.message}")


def _seconds(exc: RetryAfter) -> float:
    # PTB 22 returns int or timedelta depending on PTB_TIMEDELTA and warns about the int form.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)
