"""Builds everything `frontdoor serve` runs from the settings: Telegram and Slack (when their
tokens are set), the engine, the agent desk, the outbox dispatcher, and the scheduler."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from adapters.files import FileSource
from adapters.slack.file_download import SlackFileDownload, parse_hosts
from adapters.slack.wiring import build_slack
from adapters.telegram.wiring import build_telegram
from bot.agent_desk import AgentDesk
from bot.classification import Classifier
from bot.knowledge import KnowledgeBase
from bot.labels import CASE_TYPES
from bot.messages import ChatMembership, SellerMessage
from bot.outbox import TELEGRAM, OutboxSender
from bot.reachability import Reachability
from frontdoor.portal_channels import add_email, add_web_chat
from frontdoor.server import ServerParts
from frontdoor.wiring import Services, build_engine, build_portal_login
from storage.inbox_queue import SqlInbox

log = logging.getLogger(__name__)


def agent_channels(services: Services) -> list[str]:
    """The Slack channels whose members are agents: the support channel and any per type."""
    s = services.settings
    channels = {s.slack.support_channel} | {s.slack.channel_for(t) for t in CASE_TYPES}
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
    # Where sellers' channels get the files agents share in Slack threads.
    agent_files = (SlackFileDownload(s.slack.bot_token, parse_hosts(s.slack.file_hosts))
                   if s.slack.bot_token else None)

    if s.telegram.bot_token:
        reachability = Reachability(services.uow_factory, services.relay, services.clock)

        async def on_membership(change: ChatMembership) -> object:
            # The seller blocked or unblocked the bot (Telegram my_chat_member).
            return await asyncio.to_thread(reachability.membership, change)

        telegram = build_telegram(
            token=s.telegram.bot_token, api_base_url=s.telegram.api_base_url,
            webhook_secret=s.telegram.webhook_secret, mode=s.telegram.mode,
            webhook_url=s.telegram.webhook_url, on_seller_message=on_seller_message,
            on_membership=on_membership, agent_files=agent_files)
        file_sources[TELEGRAM] = telegram.file_source
        senders.append(telegram.sender)
        parts.telegram_webhook = telegram.webhook
        if telegram.polling is not None:
            parts.background.append(telegram.polling)
        parts.on_start.extend(telegram.on_start)
        parts.on_stop.extend(telegram.on_stop)

    if s.frontdoor_portal:
        _add_portal(parts, services, engine.deps.knowledge, file_sources, agent_files)
        add_web_chat(parts, services, on_seller_message, senders)
    add_email(parts, services, senders)  # with FRONTDOOR_SMTP_URL
    if s.frontdoor_portal:
        from adapters.web.portal_routes import portal_not_found

        # After every route under /portal: any other path there is the portal's "not found".
        parts.routes.append(portal_not_found(parts.extra["portal"]))

    if s.slack.bot_token:
        desk = AgentDesk(services.cases, services.uow_factory, "slack", s.slack.note_prefix,
                         timedelta(seconds=s.frontdoor_inbound_lease_seconds))
        slack = build_slack(
            bot_token=s.slack.bot_token, api_base_url=s.slack.api_base_url,
            signing_secret=s.slack.signing_secret, app_token=s.slack.app_token,
            file_sources=file_sources, desk=desk, cases=services.cases,
            on_seller_message=on_seller_message, agent_channels=agent_channels(services),
            case_prefix=s.frontdoor_case_prefix, agent_files=agent_files,
            inbox=(SqlInbox(services.database), services.clock,
                   timedelta(seconds=s.frontdoor_inbound_lease_seconds)))
        senders.append(slack.sender)
        parts.slack_events = slack.events_endpoint
        if slack.socket_mode is not None:
            parts.readiness["slack_socket_mode"] = slack.socket_mode.readiness
            parts.extra["slack_socket_mode"] = slack.socket_mode
        parts.on_start.extend(slack.on_start)
        parts.on_stop.extend(slack.on_stop)

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


def _add_portal(parts: ServerParts, services: Services, knowledge: KnowledgeBase,
                file_sources: dict[str, FileSource],
                agent_files: SlackFileDownload | None) -> None:
    """The seller portal's pages (FRONTDOOR_PORTAL); its uploads reach Slack threads through
    the file source registered here."""
    from adapters.web.uploads import SOURCE
    from adapters.web.wiring import build_portal
    from storage.portal_queries import SqlPortalQueries

    s = services.settings
    login = build_portal_login(s, services.database, services.clock)
    assert login is not None and s.frontdoor_session_secret and s.frontdoor_public_url
    portal = build_portal(
        cases=services.cases, queries=SqlPortalQueries(services.database), login=login,
        secret=s.frontdoor_session_secret, public_url=s.frontdoor_public_url,
        session_hours=s.frontdoor_session_hours, brand=s.frontdoor_brand,
        case_prefix=s.frontdoor_case_prefix, knowledge=knowledge,
        max_file_bytes=s.frontdoor_max_attachment_mb * 1_000_000, clock=services.clock,
        agent_files=agent_files)
    parts.routes.extend(portal.routes)
    parts.state.update(portal.state)
    parts.body_limits.update(portal.body_limits)
    parts.body_refusals.update(portal.body_refusals)
    file_sources[SOURCE] = portal.file_source
    parts.extra["portal"] = portal.portal


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
