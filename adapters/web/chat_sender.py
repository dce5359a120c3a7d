"""The outbox sender of destination ``web``: a delivered item becomes a line of the seller's
web chat, stored once per item, and the browsers connected to that chat in this process are
woken (those connected to another process find it on their next poll)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from bot.messages import Attachment, Reply
from bot.outbox import SELLER_EDIT, SELLER_FILE, SELLER_MESSAGE, DeliveryResult, OutboundItem
from bot.web_chat import WEB, WebChatStore

log = logging.getLogger(__name__)

#: Where the portal shows a case (its files included).
CASE_PAGE = "/portal/cases/"
#: Seconds before a line the database did not take is tried again.
_STORE_RETRY = 2.0


class ChatHub:
    """Wakes the streams of one chat address in this process when a line is stored."""

    def __init__(self) -> None:
        self._waiters: dict[str, set[asyncio.Event]] = {}

    def subscribe(self, address: str) -> asyncio.Event:
        event = asyncio.Event()
        self._waiters.setdefault(address, set()).add(event)
        return event

    def unsubscribe(self, address: str, event: asyncio.Event) -> None:
        waiting = self._waiters.get(address)
        if waiting is not None:
            waiting.discard(event)
            if not waiting:
                del self._waiters[address]

    def publish(self, address: str) -> None:
        for event in self._waiters.get(address, ()):
            event.set()

    def listeners(self, address: str) -> int:
        return len(self._waiters.get(address, ()))


def line_payload(item: OutboundItem) -> dict[str, Any] | None:
    """What a browser needs of a seller-bound item; None for a kind the web chat lacks."""
    payload = item.payload
    if item.kind == SELLER_MESSAGE:
        reply = Reply.from_dict(payload.get("reply") or {})
        return {"kind": "message", "text": reply.text,
                "buttons": [{"label": b.label, "payload": b.payload} for b in reply.buttons],
                "case_number": reply.case_number,
                "case_message_id": payload.get("case_message_id")}
    if item.kind == SELLER_EDIT:
        target = str(payload.get("platform_message_id") or "")
        return {"kind": "edit", "text": str(payload.get("text", "")),
                "edits": int(target.removeprefix("web-")) if target.startswith("web-")
                and target[4:].isdigit() else None}
    if item.kind == SELLER_FILE:
        attachment = Attachment.from_dict(payload.get("attachment") or {})
        number = payload.get("case_number")
        # The file itself is on the case's portal page, with the seller's access check.
        return {"kind": "file", "text": str(payload.get("caption") or ""),
                "file_name": attachment.file_name or attachment.kind,
                "case_number": number,
                "case_url": f"{CASE_PAGE}{number}" if number else None,
                "case_message_id": payload.get("case_message_id")}
    return None


class WebChatSender:
    """Delivers ``web`` items by storing them as chat lines (idempotent per item)."""

    destination = WEB

    def __init__(self, store: WebChatStore, hub: ChatHub,
                 now: Callable[[], datetime]) -> None:
        self.store = store
        self.hub = hub
        self.now = now

    async def deliver(self, item: OutboundItem) -> DeliveryResult:
        address = str(item.payload.get("address", ""))
        payload = line_payload(item)
        if payload is None or not address:
            return DeliveryResult(ok=False, permanent=True,
                                  error=f"no web chat line for {item.kind} to {address!r}")
        try:
            line_id = await asyncio.to_thread(self.store.add_bot_line, item.id, address,
                                              payload, self.now())
        except Exception as exc:  # the database is away: the dispatcher retries the item
            log.warning("could not store web chat line of outbox item %s: %s", item.id, exc)
            return DeliveryResult(ok=False, retry_after=_STORE_RETRY,
                                  error=f"{type(exc).__name__}: {exc}")
        self.hub.publish(address)
        return DeliveryResult(ok=True, platform_message_id=f"web-{line_id}",
                              platform_chat_id=address)
