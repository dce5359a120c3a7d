"""The factory the composition root calls for the web chat: its routes, its outbox sender, the
hub that wakes its streams and the recovery of unprocessed messages, over the portal's
session."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from starlette.routing import Route

from adapters.web.chat_parts import WebChatParts
from adapters.web.chat_recovery import WebChatRecovery
from adapters.web.chat_routes import WebChatRoutes
from adapters.web.chat_sender import ChatHub, WebChatSender
from adapters.web.session import csrf_ok, current_seller
from adapters.web.uploads import FileStore
from bot.messages import SellerMessage
from bot.ports import UnitOfWorkFactory
from bot.web_chat import WebChatStore, ensure_web_identity


@dataclass
class WebChat:
    routes: list[Route]
    sender: WebChatSender
    hub: ChatHub
    # Started and stopped with the server: processes what a closed panel left unprocessed.
    recovery: WebChatRecovery


def build_web_chat(store: WebChatStore, uow_factory: UnitOfWorkFactory,
                   handle: Callable[[SellerMessage], Awaitable[object]],
                   now: Callable[[], datetime], max_text_chars: int = 4000,
                   poll_seconds: float = 2.0, files: FileStore | None = None,
                   max_file_bytes: int = 20_000_000) -> WebChat:
    hub = ChatHub()
    parts = WebChatParts(
        store=store, hub=hub, handle=handle,
        ensure_identity=lambda seller_id: ensure_web_identity(uow_factory, seller_id, now()),
        seller_of=current_seller, csrf_ok=csrf_ok, now=now, max_text_chars=max_text_chars,
        poll_seconds=poll_seconds, files=files, max_file_bytes=max_file_bytes)
    return WebChat(routes=WebChatRoutes(parts).routes(), sender=WebChatSender(store, hub, now),
                   hub=hub, recovery=WebChatRecovery(parts))
