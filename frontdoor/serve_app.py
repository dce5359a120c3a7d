"""Builds everything `frontdoor serve` runs from the settings: Telegram and Slack (when their
tokens are set), the engine, the agent desk, the outbox dispatcher, and the scheduler."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

import aiohttp
from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient
from starlette.requests import Request
from starlette.responses import Response
from telegram import Bot

from adapters.files import FileSource
from adapters.slack.bolt_app import build_bolt_app, refuse_request
from adapters.slack.sender import SlackSender
from adapters.telegram.files import TelegramFileSource, file_base_url
from adapters.telegram.inbound import ALLOWED_UPDATES, TelegramInbound
from adapters.telegram.sender import TelegramSender
from bot.agent_desk import AgentDesk
from bot.classification import Classifier
from bot.labels import CASE_TYPES
from bot.messages import ChatMembership, SellerMessage
from bot.outbox import TELEGRAM, OutboxSender
from bot.reachability import Reachability
from frontdoor.server import ServerParts, bad_request
from frontdoor.wiring import Services, build_engine

log = logging.getLogger(__name__)


def agent_channels(services: Services) -> list[str]:
    """The Slack channels whose members are agents: the support channel and any per type."""
    s = services.settings
    channels = {s.slack_support_channel} | {s.slack_channel_for(t) for t in CASE_TYPES}
    return sorted(c for c in channels if c)


def build_server(
    services: Services,
    classifier: Classifier,
    nlu_ready: Callable[[], Awaitable[bool]] | None = None,
    with_scheduler: bool = True,
) -> ServerParts:
    """All parts of the server process for ``services.settings``."""
    s = services.settings
    engine = build_engine(services, classifier)

    async def on_seller_message(msg: SellerMessage) -> object:
        return await engine.handle(msg)

    senders: list[OutboxSender] = []
    parts = ServerParts(services=services, nlu_ready=nlu_ready)
    # Where the Slack sender fetches sellers' files to copy them into case threads.
    file_sources: dict[str, FileSource] = {}

    if s.telegram_bot_token:
        bot = Bot(s.telegram_bot_token, base_url=s.telegram_api_base_url,
                  base_file_url=file_base_url(s.telegram_api_base_url))
        file_sources[TELEGRAM] = TelegramFileSource(bot)
        telegram_sender = TelegramSender(bot)
        senders.append(telegram_sender)
        reachability = Reachability(services.uow_factory, services.relay, services.clock)

        async def on_membership(change: ChatMembership) -> object:
            # The seller blocked or unblocked the bot (Telegram my_chat_member).
            return await asyncio.to_thread(reachability.membership, change)

        inbound = TelegramInbound(bot, on_seller_message, s.telegram_webhook_secret,
                                  on_membership)
        if s.telegram_mode == "polling":
            parts.background.append(inbound.poll)
        else:
            parts.telegram_webhook = inbound.webhook
        parts.on_start.append(bot.initialize)
        if s.telegram_mode != "polling" and s.telegram_webhook_url:
            webhook_url = s.telegram_webhook_url

            async def register_webhook() -> None:
                # Telegram then sends the secret with every update (checked by the webhook),
                # and my_chat_member updates: a seller blocking or unblocking the bot.
                await bot.set_webhook(webhook_url, secret_token=s.telegram_webhook_secret,
                                      allowed_updates=list(ALLOWED_UPDATES))

            parts.on_start.append(register_webhook)
        parts.on_stop.append(bot.shutdown)

    if s.slack_bot_token:
        client = AsyncWebClient(token=s.slack_bot_token, base_url=s.slack_api_base_url)
        # One connection pool for the process (opened in the server's event loop); without
        # it the SDK opens and closes an HTTP session for every single call.
        slack_sender = SlackSender(client, owns_session=True, file_sources=file_sources)
        parts.on_start.append(_open_session(slack_sender))
        senders.append(slack_sender)
        desk = AgentDesk(services.cases, services.uow_factory, "slack", s.slack_note_prefix)
        bolt = build_bolt_app(
            client, None if s.slack_app_token and not s.slack_signing_secret
            else s.slack_signing_secret,
            desk, services.cases, on_seller_message, agent_channels(services),
            s.frontdoor_case_prefix,
        )
        if s.slack_app_token:
            parts.background.append(_socket_mode(bolt, s.slack_app_token))
        if s.slack_signing_secret:
            handler = AsyncSlackRequestHandler(bolt)
            verifier = SignatureVerifier(s.slack_signing_secret)

            async def slack_events(request: Request) -> Response:
                refusal = refuse_request(await request.body(), request.headers, verifier)
                if refusal is not None:
                    return bad_request(refusal[1], refusal[0])
                return await handler.handle(request)  # the body is cached on the request

            parts.slack_events = slack_events
        parts.on_stop.append(slack_sender.close)

    parts.dispatcher = services.dispatcher(senders)
    if services.database.dialect == "postgresql":
        from storage.notify import OutboxListener

        listener = OutboxListener(services.database.url, parts.dispatcher.wake)

        async def start_listener() -> None:
            listener.start()

        async def stop_listener() -> None:
            listener.stop()

        parts.on_start.append(start_listener)
        parts.on_stop.append(stop_listener)
    if with_scheduler:
        _add_scheduler(parts, services)
    parts.extra["engine"] = engine
    return parts


def _open_session(sender: SlackSender) -> Callable[[], Awaitable[None]]:
    """Open the Slack client's pooled HTTP session when the server starts."""

    async def start() -> None:
        if sender.client.session is None or sender.client.session.closed:
            timeout = aiohttp.ClientTimeout(total=sender.client.timeout)
            sender.client.session = aiohttp.ClientSession(timeout=timeout)

    return start


def _socket_mode(bolt: Any, app_token: str) -> Callable[[Any], Coroutine[Any, Any, None]]:
    """Slack Socket Mode for development: events over a websocket, no public URL needed."""

    async def run(stop: Any) -> None:
        from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

        handler = AsyncSocketModeHandler(bolt, app_token)
        await handler.connect_async()  # type: ignore[no-untyped-call]
        try:
            await stop.wait()
        finally:
            await handler.close_async()  # type: ignore[no-untyped-call]

    return run


def _add_scheduler(parts: ServerParts, services: Services) -> None:
    """Start the scheduler's sweeps with the server (after catching up on missed work)."""
    from frontdoor.scheduling import start_scheduler

    holder: list[Any] = []

    async def start() -> None:
        holder.append(await start_scheduler(services, services.settings))

    async def stop() -> None:
        for scheduler in holder:
            scheduler.shutdown(wait=False)

    parts.on_start.append(start)
    parts.on_stop.append(stop)
