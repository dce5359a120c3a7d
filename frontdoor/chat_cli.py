"""`frontdoor chat`: a terminal chat as a seller against the real engine, the configured
database and the real NLU model (a local Rasa server is started when FRONTDOOR_NLU_URL is
unset, and stopped on exit). The agent side is the CLI: ``frontdoor case reply CX-000001
"..."`` in another terminal shows up here."""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import sys
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import typer

from adapters.console import ConsoleSender, run_console
from adapters.slack.file_download import SlackFileDownload, parse_hosts
from bot import i18n
from bot.classification import Classifier
from bot.dispatcher import OutboxDispatcher
from bot.errors import CaseRuleError
from bot.offline_classifier import OfflineClassifier
from bot.outbox import CONSOLE
from bot.texts import t
from frontdoor.settings import Settings, load_settings
from frontdoor.shutdown import run_until_stopped
from frontdoor.wiring import (
    PortalMisconfigured,
    Services,
    build_engine,
    build_services,
    check_portal_settings,
)
from storage.console_queries import (
    ChatOutboxQueue,
    find_invitation,
    find_seller,
    mark_reply_read,
)

DEMO_SELLER_NAME = "Demo Seller"


def demo_code(settings: Settings) -> str:
    return f"{settings.frontdoor_brand.upper()}-DEMO"


@dataclass(frozen=True)
class ChatUser:
    """Who the terminal chats as: its console user, the banner, and what is typed for them
    first (an invited seller's ``/start CODE``)."""

    user_id: str
    display_name: str
    banner: str
    first_lines: tuple[str, ...] = ()


def console_user_for(services: Services, seller_id: int, name: str) -> str:
    """The console identity of a seller (created and linked on first use)."""
    now = services.clock.now()
    with services.uow_factory() as uow:
        for ident in uow.identities.for_seller(seller_id):
            if ident.channel == CONSOLE:
                return ident.external_id
        external = f"seller-{seller_id}"
        ident = uow.identities.ensure(CONSOLE, external, external, name, now)
        if ident.seller_id is None:
            uow.identities.link_seller(ident.id, seller_id)
        uow.commit()
        return external


class NoSuchChatUser(Exception):
    """``--as`` names nobody the chat can be opened as; the message says why."""


def chat_user_as(services: Services, who: str) -> ChatUser:
    """``--as WHO``: a registered seller (id or name), or an invited one (the name the
    invitation was made for, or its code), registered the way the chat registers anyone: by
    ``/start CODE``. NoSuchChatUser if nobody answers to ``who``."""
    seller = find_seller(services.database, who)
    if seller is not None:
        user_id = console_user_for(services, seller.id, seller.display_name)
        with i18n.speaking_to(services.cases.identify(CONSOLE, user_id)[1]):
            banner = t("console.chatting_as", name=seller.display_name, id=seller.id)
        return ChatUser(user_id, seller.display_name, banner)
    invitation = find_invitation(services.database, who)
    if invitation is None:
        raise NoSuchChatUser(
            f"no seller or invitation {who!r} (use a seller id, a seller's name, or the name "
            "or code of an invitation: frontdoor invite create NAME)")
    if invitation.expires_at < services.clock.now():
        raise NoSuchChatUser(t(
            "console.invitation_expired", name=invitation.seller_name, code=invitation.code,
            date=f"{invitation.expires_at.day} {invitation.expires_at:%b %Y}"))
    # Its own console user; once registered, `--as` finds the seller and this same user.
    user_id = f"invited-{invitation.id}"
    return ChatUser(user_id, invitation.seller_name,
                    t("console.registering_as", name=invitation.seller_name,
                      code=invitation.code),
                    first_lines=(f"/start {invitation.code}",))


def demo_banner(services: Services, user_id: str) -> str | None:
    """For an unregistered console user: make sure a demo invitation exists and say its code."""
    ident, seller = services.cases.identify(CONSOLE, user_id, user_id, user_id)
    if seller is not None:
        return None
    code = demo_code(services.settings)
    with services.uow_factory() as uow:
        inv = uow.invitations.get_by_code_for_update(code)
    if inv is None:
        with contextlib.suppress(CaseRuleError):
            inv = services.cases.create_invitation(DEMO_SELLER_NAME, code=code, days=365,
                                                   created_by="frontdoor chat")
    if inv is not None and inv.used_by_seller_id is None:
        return t("console.demo_code", code=code)
    return t("console.ask_operator")


def chat_dispatcher(services: Services, sender: ConsoleSender,
                    user_id: str) -> OutboxDispatcher:
    """Delivers this terminal's chat only (other sellers' console messages wait for their
    own terminal), woken by this process's commits."""
    dispatcher = OutboxDispatcher(
        ChatOutboxQueue(services.database, user_id), [sender], services.clock,
        services.delivery_outcomes(),
        max_attempts=services.settings.frontdoor_outbox_max_attempts)
    services.on_outbox_commit(dispatcher.wake)
    return dispatcher


def replies_shown_are_read(services: Services) -> Callable[[int], None]:
    """For the sender: an agent reply printed in the terminal counts as read (the seller
    watched it arrive), so the "Updated" mark does not count it again."""

    def mark(case_message_id: int) -> None:
        mark_reply_read(services.database, case_message_id, services.clock.now())

    return mark


@contextlib.asynccontextmanager
async def classifier_for(settings: Settings, no_nlu: bool) -> AsyncIterator[Classifier]:
    if no_nlu:
        # The NLU "down" path: case types are offered as buttons.
        yield OfflineClassifier()
        return
    from nlu.client import RasaClassifier
    from nlu.server import anlu_service

    async with anlu_service(settings.frontdoor_nlu_url, settings.frontdoor_cache_dir) as url:
        client = RasaClassifier(url, timeout=settings.frontdoor_nlu_timeout,
                                case_prefix=settings.frontdoor_case_prefix)
        try:
            yield client
        finally:
            await client.aclose()


async def _chat(settings: Settings, as_seller: str | None, no_nlu: bool) -> int:
    from storage.migrate import upgrade

    await asyncio.to_thread(upgrade, settings.frontdoor_database_url)
    services = build_services(settings)
    try:
        if as_seller:
            try:
                user = await asyncio.to_thread(chat_user_as, services, as_seller)
            except NoSuchChatUser as nobody:
                typer.echo(f"error: {nobody}", err=True)
                return 2
        else:
            user_id = f"console-{getpass.getuser()}"
            demo: str | None = await asyncio.to_thread(demo_banner, services, user_id)
            user = ChatUser(user_id, getpass.getuser(), demo or "")
        # Files agents share in Slack threads are saved and their path printed.
        agent_files = (SlackFileDownload(settings.slack.bot_token,
                                         parse_hosts(settings.slack.file_hosts))
                       if settings.slack.bot_token else None)
        sender = ConsoleSender(address=user.user_id, agent_files=agent_files,
                               on_reply_shown=replies_shown_are_read(services))
        dispatcher = chat_dispatcher(services, sender, user.user_id)
        # The terminal's own lines in the seller's language (the bot's replies are in it anyway).
        _, seller = await asyncio.to_thread(services.cases.identify, CONSOLE, user.user_id)
        async with classifier_for(settings, no_nlu) as classifier:
            engine = build_engine(services, classifier)
            with i18n.speaking_to(seller):
                typer.echo(t("console.welcome", brand=settings.frontdoor_brand))
                if user.banner:
                    typer.echo(user.banner)
                await run_console(engine, dispatcher.run_once, sender, user.user_id,
                                  user.display_name, first_lines=user.first_lines)
    finally:
        services.database.dispose()
    return 0


def chat(
    as_seller: str | None = typer.Option(
        None, "--as", help="Seller id or name, or the seller name or code of an invitation "
        "(the invited seller is registered as the chat would)."),
    no_nlu: bool = typer.Option(False, "--no-nlu", help="Don't start Rasa; pick case types "
                                "from buttons."),
) -> None:
    """Chat with the bot as a seller, in this terminal."""
    from nlu.environment import RasaEnvironmentError
    from nlu.server import RasaServerError
    from nlu.training import TrainingError

    settings = load_settings()
    try:
        # The chat's /web hands out portal links: a half-configured portal stops here, the way
        # `frontdoor serve` stops, rather than as a traceback from deep in the wiring.
        check_portal_settings(settings)
    except PortalMisconfigured as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    try:
        # SIGTERM and SIGINT end the chat with the local Rasa server stopped (frontdoor.shutdown).
        code = run_until_stopped(lambda _stop: _chat(settings, as_seller, no_nlu))
    except (RasaEnvironmentError, TrainingError, RasaServerError) as exc:
        typer.echo(f"error: {exc} (or chat without NLU: --no-nlu)", err=True)
        raise typer.Exit(1) from None
    if code:
        raise typer.Exit(code)


if __name__ == "__main__":  # pragma: no cover
    typer.run(chat)
    sys.exit(0)
