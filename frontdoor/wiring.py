"""The composition root: builds the database, the rules, the relay and the dispatcher from
settings. Everything else receives what it needs from here."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from bot.cases import CaseRules, CaseService
from bot.classification import Classifier
from bot.clock import Clock, SystemClock
from bot.delivery_outcomes import DeliveryOutcomes
from bot.dialogue.config import EngineConfig
from bot.dispatcher import OutboxDispatcher
from bot.engine import Engine
from bot.knowledge import KnowledgeBase, KnowledgeBaseError
from bot.outbox import SLACK, TELEGRAM, OutboxSender
from bot.portal_login import PortalLogin
from bot.relay import Relay, RelayConfig
from bot.round_robin import RoundRobin
from frontdoor.settings import Settings, SettingsError
from storage.agent_rotations import SqlAgentRotations
from storage.database import Database
from storage.outbox_queue import SqlOutboxQueue
from storage.uow import SqlUnitOfWorkFactory


def case_rules(settings: Settings) -> CaseRules:
    """The rules' thresholds: the one place they are built. The deadlines a case stores are
    read from the same settings the scheduler enforces them by (settings.scheduler)."""
    return CaseRules(
        daily_case_cap=settings.frontdoor_daily_case_cap,
        keep_open_max=settings.frontdoor_keep_open_max,
        keep_open_days=settings.frontdoor_keep_open_days,
        pending_auto_close_days=settings.scheduler.pending_auto_close_days,
        resolved_auto_close_days=settings.scheduler.resolved_auto_close_days,
        first_response_hours=settings.frontdoor_first_response_hours,
        first_response_urgent_hours=settings.frontdoor_first_response_urgent_hours,
        evaluation_days=settings.frontdoor_evaluation_days,
        max_text_chars=settings.frontdoor_max_text_chars,
        reopen_days=settings.frontdoor_reopen_days,
        email_notifications=bool(settings.frontdoor_smtp_url),
    )


@dataclass
class Services:
    """What the entry points (CLI, console chat, HTTP server, scheduler) share."""

    settings: Settings
    database: Database
    clock: Clock
    relay: Relay
    uow_factory: SqlUnitOfWorkFactory
    cases: CaseService
    outbox_queue: SqlOutboxQueue
    _wakers: list[Callable[[], None]] = field(default_factory=list)

    def on_outbox_commit(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` after every commit that queued outbox items (dispatcher wake)."""
        self._wakers.append(callback)

    def _wake(self) -> None:
        for callback in self._wakers:
            callback()

    def delivery_outcomes(self) -> DeliveryOutcomes:
        """What records each delivery the dispatchers make (and tells agents of failures)."""
        return DeliveryOutcomes(self.uow_factory, self.relay,
                                RoundRobin(self.relay, SqlAgentRotations()))

    def dispatcher(self, senders: Sequence[OutboxSender], idle_poll: float = 1.0) -> OutboxDispatcher:
        """A dispatcher for ``senders`` that wakes on this process's commits."""
        disp = OutboxDispatcher(
            self.outbox_queue, senders, self.clock, self.delivery_outcomes(),
            max_attempts=self.settings.frontdoor_outbox_max_attempts, idle_poll=idle_poll,
        )
        self.on_outbox_commit(disp.wake)
        return disp


def agents_destination(settings: Settings) -> str | None:
    """Agents work in Slack when a bot token is configured; otherwise from the CLI only."""
    return SLACK if settings.slack.bot_token else None


#: The channel name of files uploaded on the seller portal (adapters.web.uploads.SOURCE).
PORTAL_FILES = "web"


def copyable_file_sources(settings: Settings) -> frozenset[str]:
    """Channels whose files are copied into the agents' Slack threads (``frontdoor serve``
    gives the Slack sender a fetcher for each): sellers' Slack DMs, whose files are private to
    the DM, and Telegram's when both platforms are configured."""
    if agents_destination(settings) != SLACK:
        return frozenset()
    sources = {SLACK, TELEGRAM} if settings.telegram.bot_token else {SLACK}
    if settings.frontdoor_portal:
        sources.add(PORTAL_FILES)  # what sellers upload on the portal
    return frozenset(sources)


def build_services(settings: Settings, clock: Clock | None = None,
                   database: Database | None = None) -> Services:
    """Wire the case store and rules for ``settings``. Builds no connection until used."""
    clock = clock or SystemClock()
    database = database or Database(settings.frontdoor_database_url)
    relay = Relay(RelayConfig(agents_destination=agents_destination(settings),
                              channel_for=settings.slack.channel_for,
                              file_sources=copyable_file_sources(settings),
                              invites_channel=(settings.slack.invites_channel
                                               or settings.slack.support_channel),
                              agents_group=settings.slack.agents_group or None,
                              thread_link_base=settings.slack.link_base))
    holder: list[Services] = []
    uow_factory = SqlUnitOfWorkFactory(
        database, settings.frontdoor_case_prefix,
        on_outbox_commit=lambda: holder[0]._wake() if holder else None,
    )
    services = Services(
        settings=settings, database=database, clock=clock, relay=relay,
        uow_factory=uow_factory,
        cases=CaseService(uow_factory, relay, case_rules(settings), clock),
        outbox_queue=SqlOutboxQueue(database),
    )
    holder.append(services)
    return services


class PortalMisconfigured(ValueError):
    """The portal is switched on without what it needs (said in the message)."""


def check_portal_settings(settings: Settings) -> tuple[str, str] | None:
    """(public URL, session secret) when the portal is on (FRONTDOOR_PORTAL), None when off;
    raises PortalMisconfigured saying what is missing."""
    if not settings.frontdoor_portal:
        return None
    if not settings.frontdoor_public_url:
        raise PortalMisconfigured("FRONTDOOR_PORTAL is on but FRONTDOOR_PUBLIC_URL is not set: "
                                  "the login links need the address sellers open")
    secret = settings.frontdoor_session_secret or ""
    if len(secret) < 32:
        raise PortalMisconfigured(
            "FRONTDOOR_PORTAL is on but FRONTDOOR_SESSION_SECRET is missing or shorter than 32 "
            "characters; make one with: python -c 'import secrets; print(secrets.token_urlsafe(32))'")
    return settings.frontdoor_public_url, secret


def build_portal_login(settings: Settings, database: Database,
                       clock: Clock | None = None) -> PortalLogin | None:
    """The portal's one-time login links, or None while the portal is off (FRONTDOOR_PORTAL)."""
    checked = check_portal_settings(settings)
    if checked is None:
        return None
    from storage.portal_logins import SqlPortalLoginStore

    return PortalLogin(checked[0], checked[1], SqlPortalLoginStore(database), clock)


def build_engine(services: Services, classifier: Classifier) -> Engine:
    """The conversational engine over ``services`` with ``classifier``."""
    s = services.settings
    config = EngineConfig(
        nlu_threshold=s.frontdoor_nlu_threshold, brand=s.frontdoor_brand,
        case_prefix=s.frontdoor_case_prefix, first_response_hours=s.frontdoor_first_response_hours,
        first_response_urgent_hours=s.frontdoor_first_response_urgent_hours,
        max_text_chars=s.frontdoor_max_text_chars,
        max_attachment_bytes=s.frontdoor_max_attachment_mb * 1_000_000,
        inbound_lease_seconds=s.frontdoor_inbound_lease_seconds,
        max_concurrent_turns=s.frontdoor_max_concurrent_turns,
        portal_links=build_portal_login(s, services.database, services.clock),
    )
    knowledge = load_knowledge_base(s)
    return Engine(services.cases, services.uow_factory, classifier, services.relay, config,
                  services.clock, knowledge)


def load_knowledge_base(settings: Settings) -> KnowledgeBase:
    """The self-help articles (FRONTDOOR_KNOWLEDGE_BASE); a file that is missing, unreadable or
    malformed is a ``SettingsError`` of that variable."""
    try:
        return KnowledgeBase.load(settings.frontdoor_knowledge_base, settings.frontdoor_brand)
    except KnowledgeBaseError as exc:  # it says where in the file
        reason = str(exc)
    except OSError as exc:
        reason = f"cannot read {exc.filename}: {exc.strerror}"
    except UnicodeDecodeError:
        reason = f"{settings.frontdoor_knowledge_base}: not UTF-8 text"
    raise SettingsError.of_variable("FRONTDOOR_KNOWLEDGE_BASE", reason)
