"""How updates reach the bot on the Telegram stand-in: webhook registration
(``setWebhook``/``deleteWebhook``/``getWebhookInfo``) and ``getUpdates`` long polling of the
updates a test queues with ``push_update`` (409 while a webhook is set, as on Telegram).
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from typing import Any

from tests.standins import HandlerResult, StandInServer
from tests.standins.telegram_faults import error_body


class TelegramUpdateDelivery(StandInServer):
    """The update side of ``TelegramStandIn``: its methods are wired up there."""

    def __init__(self, latency: float = 0.0) -> None:
        super().__init__(latency)
        self.webhook: dict[str, Any] | None = None
        #: What getWebhookInfo reports as the last delivery failure: (unix time, message).
        self.webhook_last_error: tuple[int, str] | None = None
        self._updates: list[dict[str, Any]] = []
        self._updates_lock = threading.Lock()
        self._updates_changed: asyncio.Condition | None = None

    def push_update(self, update: dict[str, Any]) -> None:
        """Queue an update for ``getUpdates`` (polling mode). Safe from any thread."""
        with self._updates_lock:
            self._updates.append(update)
        loop, changed = self._loop, self._updates_changed
        if loop is not None and changed is not None:
            loop.call_soon_threadsafe(lambda: asyncio.ensure_future(_notify(changed)))

    async def _set_webhook(self, params: dict[str, Any]) -> HandlerResult:
        self.webhook = {"url": params.get("url", ""),
                        "secret_token": params.get("secret_token"),
                        "allowed_updates": params.get("allowed_updates")}
        return 200, {"ok": True, "result": True, "description": "Webhook was set"}

    async def _delete_webhook(self, params: dict[str, Any]) -> HandlerResult:
        self.webhook = None
        return 200, {"ok": True, "result": True, "description": "Webhook was deleted"}

    async def _get_webhook_info(self, params: dict[str, Any]) -> HandlerResult:
        with self._updates_lock:
            pending = len(self._updates)
        url = self.webhook["url"] if self.webhook else ""
        info: dict[str, Any] = {"url": url, "has_custom_certificate": False,
                                "pending_update_count": pending}
        if self.webhook and self.webhook.get("allowed_updates"):
            info["allowed_updates"] = self.webhook["allowed_updates"]
        if self.webhook_last_error is not None:
            info["last_error_date"], info["last_error_message"] = self.webhook_last_error
        return 200, {"ok": True, "result": info}

    async def _get_updates(self, params: dict[str, Any]) -> HandlerResult:
        if self.webhook:
            return 409, error_body(409, "Conflict: can't use getUpdates method while webhook "
                                        "is active; use deleteWebhook to delete the webhook first")
        offset = int(params.get("offset") or 0)
        limit = int(params.get("limit") or 100)
        # Long polling, capped so a test never hangs on a stand-in.
        deadline = time.monotonic() + min(float(params.get("timeout") or 0), 10.0)
        if self._updates_changed is None:
            self._updates_changed = asyncio.Condition()
        while True:
            with self._updates_lock:
                # Like Telegram, asking from ``offset`` confirms every earlier update.
                self._updates = [u for u in self._updates if u["update_id"] >= offset]
                due = self._updates[:limit]
            remaining = deadline - time.monotonic()
            if due or remaining <= 0:
                return 200, {"ok": True, "result": due}
            async with self._updates_changed:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._updates_changed.wait(), remaining)


async def _notify(condition: asyncio.Condition) -> None:
    async with condition:
        condition.notify_all()
