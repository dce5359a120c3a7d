"""Slack for `frontdoor serve`: the Web API client, the outbox sender, the bolt app with the
agent desk and sellers' DMs, and the way events come in (HTTP endpoint, or Socket Mode)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import timedelta

import aiohttp
from slack_sdk.web.async_client import AsyncWebClient
from starlette.requests import Request
from starlette.responses import Response

from adapters.files import FileSource, UrlFileSource
from adapters.slack.bolt_app import SellerHandler, build_bolt_app
from adapters.slack.event_inbox import SlackEventInbox
from adapters.slack.file_source import CHANNEL as SLACK_SELLERS
from adapters.slack.file_source import SlackFileSource
from adapters.slack.http_endpoint import SlackHttpEndpoint
from adapters.slack.sender import SlackSender
from adapters.slack.socket_mode import SlackSocketMode
from bot.agent_desk import AgentDesk
from bot.cases import CaseService
from bot.clock import Clock
from bot.inbox import Inbox

Hook = Callable[[], Awaitable[None]]


@dataclass
class SlackParts:
    """What the server runs for Slack; ``on_start``/``on_stop`` in order."""

    sender: SlackSender
    events_endpoint: Callable[[Request], Awaitable[Response]] | None = None
    socket_mode: SlackSocketMode | None = None
    on_start: list[Hook] = field(default_factory=list)
    on_stop: list[Hook] = field(default_factory=list)


def build_slack(*, bot_token: str, api_base_url: str, signing_secret: str | None,
                app_token: str | None, file_sources: dict[str, FileSource], desk: AgentDesk,
                cases: CaseService, on_seller_message: SellerHandler,
                agent_channels: Iterable[str], case_prefix: str,
                agent_files: UrlFileSource | None = None,
                inbox: tuple[Inbox, Clock, timedelta] | None = None) -> SlackParts:
    """``inbox`` (the inbox, the clock, the lease of a record): HTTP events are recorded,
    acknowledged, then processed (`event_inbox`); None processes them before the answer."""
    client = AsyncWebClient(token=bot_token, base_url=api_base_url)
    if agent_files is not None:
        # Files sellers send in a DM with the app are private to that DM: copied into the
        # case's thread like Telegram files, downloaded with the same guarded download.
        file_sources = {**file_sources, SLACK_SELLERS: SlackFileSource(client, agent_files)}
    sender = SlackSender(client, owns_session=True, file_sources=file_sources,
                         agent_files=agent_files)
    parts = SlackParts(sender=sender)
    # One connection pool for the process (opened in the server's event loop); without it
    # the SDK opens and closes an HTTP session for every single call.
    parts.on_start.append(_open_session(sender))
    # Socket Mode alone needs no signing secret: Slack authenticates the connection.
    bolt = build_bolt_app(client, None if app_token and not signing_secret else signing_secret,
                          desk, cases, on_seller_message, agent_channels, case_prefix)
    if app_token:
        parts.socket_mode = SlackSocketMode(bolt, app_token)
        parts.on_start.append(parts.socket_mode.start)
        parts.on_stop.append(parts.socket_mode.close)
    if signing_secret:
        # Signature and shape checked before bolt runs: a malformed request gets a 4xx.
        events = None
        if inbox is not None:
            events = SlackEventInbox(bolt, *inbox)
            parts.on_start.append(events.start)
            parts.on_stop.append(events.stop)
        parts.events_endpoint = SlackHttpEndpoint(bolt, signing_secret, events).handle
    parts.on_stop.append(sender.close)
    return parts


def _open_session(sender: SlackSender) -> Hook:
    """Open the Slack client's pooled HTTP session when the server starts."""

    async def start() -> None:
        if sender.client.session is None or sender.client.session.closed:
            timeout = aiohttp.ClientTimeout(total=sender.client.timeout)
            sender.client.session = aiohttp.ClientSession(timeout=timeout)

    return start
