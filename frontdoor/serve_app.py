"""Builds everything `frontdoor serve` runs from the settings: Telegram and Slack (when their
tokens are set), the engine, the agent desk, the outbox dispatcher, and the scheduler."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from telegram import Bot

from adapters.files import FileSource
from adapters.slack.bolt_app import build_bolt_app
from adapters.slack.http_endpoint import SlackHttpEndpoint
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
from frontdoor.server import ServerParts
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
        desk = AgentDesk(services.cases, services.uow_factory, "slack", s.slack_note_prefix,
                         timedelta(seconds=s.frontdoor_inbound_lease_seconds))
        bolt = build_bolt_app(
            client, None if s.slack_app_token and not s.slack_signing_secret
            else s.slack_signing_secret,
            desk, services.cases, on_seller_message, agent_channels(services),
            s.frontdoor_case_prefix,
        )
        if s.slack_app_token:
            socket_mode = SlackSocketMode(bolt, s.slack_app_token)
            parts.on_start.append(socket_mode.start)
            parts.on_stop.append(socket_mode.close)
            parts.readiness["slack_socket_mode"] = socket_mode.readiness
            parts.extra["slack_socket_mode"] = socket_mode
        if s.slack_signing_secret:
            # Signature and shape checked before bolt runs: a malformed request gets a 4xx.
            parts.slack_events = SlackHttpEndpoint(bolt, s.slack_signing_secret).handle
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


# Errors of apps.connections.open that mean "try again later"; any other error Slack answers
# (invalid_auth, token_revoked, not_allowed_token_type...) means the token will never work.
_TRANSIENT_SLACK_ERRORS = frozenset({"ratelimited", "internal_error", "fatal_error",
                                     "service_unavailable", "request_timeout"})
#: Seconds between the Socket Mode client's pings (slack_sdk's default is 10); a connection
#: silent for four of them is taken as lost and replaced.
SOCKET_MODE_PING_INTERVAL = 10.0


def _slack_api_error(exc: BaseException | None) -> SlackApiError | None:
    """The Web API error behind ``exc``: itself, or what it was raised from or while
    handling (a few links deep), else None."""
    seen = 0
    while exc is not None and seen < 5:
        if isinstance(exc, SlackApiError):
            return exc
        exc, seen = exc.__cause__ or exc.__context__, seen + 1
    return None


def _slack_error(exc: BaseException) -> str | None:
    """The ``error`` of a Web API answer ``{"ok": false, ...}`` given with HTTP 200, else None
    (HTTP errors, network failures)."""
    api_error = _slack_api_error(exc)
    if api_error is None or api_error.response.status_code != 200:
        return None
    error = api_error.response.get("error")
    return str(error) if error else None


def _describe(exc: BaseException) -> str:
    """A short reason for a failed Slack call, for the log and /readyz."""
    api_error = _slack_api_error(exc)
    if api_error is not None:
        return str(_slack_error(api_error) or f"HTTP {api_error.response.status_code}")
    return " ".join(f"{type(exc).__name__}: {exc}".split())[:300]


class SocketModeRefused(RuntimeError):
    """Slack refused a Socket Mode connection for the configured SLACK_APP_TOKEN."""


class SlackSocketMode:
    """Slack Socket Mode (development): events, button presses and slash commands arrive over a
    websocket the app opens, so no public URL is needed. The same bolt app handles them.

    Failing loudly: at start one ``apps.connections.open`` call tells a token Slack refuses
    (wrong, revoked, a bot token where the app-level one belongs) from an outage. A refused
    token stops the server with a clear message (nothing would ever arrive); an outage is
    logged and slack_sdk keeps trying. Either way, and whenever a later connection is lost,
    /readyz answers 503 with the last error until the websocket is up again (slack_sdk
    reconnects by itself).
    """

    def __init__(self, bolt: Any, app_token: str, ping_interval: float | None = None) -> None:
        self.bolt = bolt
        self.app_token = app_token
        self.ping_interval = ping_interval
        self.last_error: str | None = None
        self._handler: Any = None
        self._connecting: asyncio.Task[None] | None = None
        # A logger of its own (outside the registry, propagating to this module's) so that its
        # filter sees the errors of this connection only: they explain a failed readiness.
        self._logger = logging.Logger(f"{__name__}.socket_mode")
        self._logger.parent = log
        self._logger.addFilter(self._remember_error)

    def _remember_error(self, record: logging.LogRecord) -> bool:
        if record.levelno >= logging.ERROR:
            failure = record.exc_info[1] if record.exc_info else None
            self.last_error = (_describe(failure) if failure is not None
                               else " ".join(record.getMessage().split())[:300])
        return True  # a filter here only watches; the record is logged as usual

    async def start(self) -> None:
        """Check the token and open the connection (in the background: slack_sdk retries)."""
        from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

        interval = SOCKET_MODE_PING_INTERVAL if self.ping_interval is None else self.ping_interval
        self._handler = handler = AsyncSocketModeHandler(
            self.bolt, self.app_token, logger=self._logger, ping_interval=interval)
        client = handler.client
        try:
            # The URL is kept for the first connection, as slack_sdk would have asked for it.
            client.wss_uri = await client.issue_new_wss_url()
        except Exception as exc:  # any failure: refused token, Slack down, network
            error = _slack_error(exc)
            if error is not None and error not in _TRANSIENT_SLACK_ERRORS:
                await self.close()
                message = (
                    f"Slack Socket Mode refused: apps.connections.open answered {error!r}. "
                    "SLACK_APP_TOKEN must be an app-level token (xapp-...) of this Slack app "
                    "with the connections:write scope, and Socket Mode must be enabled for "
                    "the app.")
                log.error(message)
                raise SocketModeRefused(message) from None
            self.last_error = f"apps.connections.open failed: {_describe(exc)}"
            log.error("Slack Socket Mode is not connected yet (%s); retrying every %ss",
                      self.last_error, interval)
        # connect() returns once the websocket is up; until then it retries by itself.
        self._connecting = asyncio.create_task(client.connect())  # type: ignore[no-untyped-call]

    async def readiness(self) -> str:
        """``ok`` while the websocket is up, else why not (for /readyz)."""
        if self._handler is not None and await self._handler.client.is_connected():
            return "ok"
        return f"error: Slack Socket Mode not connected ({self.last_error or 'connecting'})"

    async def close(self) -> None:
        """Stop connecting, close the websocket and the client's HTTP session."""
        if self._connecting is not None:
            self._connecting.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._connecting
            self._connecting = None
        handler, self._handler = self._handler, None
        if handler is not None:
            await handler.close_async()


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
