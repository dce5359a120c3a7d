"""`frontdoor chat`: a terminal chat as a seller against the real engine, the configured
database and the real NLU model (a local Rasa server is started when FRONTDOOR_NLU_URL is
unset, and stopped on exit). The agent side is the CLI: ``frontdoor case reply CX-000001
"..."`` in another terminal shows up here."""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import sys
from collections.abc import AsyncIterator

import typer
from sqlalchemy import select

from adapters.console import ConsoleSender, run_console
from bot.classification import Classifier, FakeClassifier
from bot.errors import CaseRuleError
from bot.outbox import CONSOLE
from frontdoor.settings import Settings, load_settings
from frontdoor.shutdown import run_until_stopped
from frontdoor.wiring import Services, build_engine, build_services
from storage.models import SellerRow

DEMO_SELLER_NAME = "Demo Seller"


def demo_code(settings: Settings) -> str:
    return f"{settings.frontdoor_brand.upper()}-DEMO"


def find_seller(services: Services, who: str) -> tuple[int, str] | None:
    """A seller by id or by display name (case-insensitive)."""
    with services.uow_factory() as uow:
        if who.isdigit():
            seller = uow.sellers.get(int(who))
            if seller is not None:
                return seller.id, seller.display_name
        row = uow.session.scalars(select(SellerRow).where(
            SellerRow.display_name.ilike(who)).order_by(SellerRow.id)).first()
        return (row.id, row.display_name) if row else None


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
        return (f"You are not registered yet. Your demo invitation code is {code}: "
                "type it to register.")
    return ("You are not registered yet. Ask an operator for a code: "
            "frontdoor invite create \"Your Shop\"")


@contextlib.asynccontextmanager
async def classifier_for(settings: Settings, no_nlu: bool) -> AsyncIterator[Classifier]:
    if no_nlu:
        # The NLU "down" path: case types are offered as buttons.
        yield FakeClassifier(available=False)
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
            found = await asyncio.to_thread(find_seller, services, as_seller)
            if found is None:
                typer.echo(f"error: no seller {as_seller!r} (use a seller id or display name)",
                           err=True)
                return 2
            user_id = await asyncio.to_thread(console_user_for, services, *found)
            display = found[1]
            banner = f"Chatting as {display} (seller {found[0]})."
        else:
            user_id = f"console-{getpass.getuser()}"
            display = getpass.getuser()
            demo: str | None = await asyncio.to_thread(demo_banner, services, user_id)
            banner = demo or ""
        sender = ConsoleSender(address=user_id)
        dispatcher = services.dispatcher([sender])
        async with classifier_for(settings, no_nlu) as classifier:
            engine = build_engine(services, classifier)
            typer.echo(f"{settings.frontdoor_brand} seller support, console chat. "
                       "Type /help for help, a number to press a button, /quit to leave.")
            if banner:
                typer.echo(banner)
            await run_console(engine, dispatcher.run_once, sender, user_id, display)
    finally:
        services.database.dispose()
    return 0


def chat(
    as_seller: str | None = typer.Option(None, "--as", help="Seller id or display name."),
    no_nlu: bool = typer.Option(False, "--no-nlu", help="Don't start Rasa; pick case types "
                                "from buttons."),
) -> None:
    """Chat with the bot as a seller, in this terminal."""
    from nlu.environment import RasaEnvironmentError
    from nlu.server import RasaServerError
    from nlu.training import TrainingError

    try:
        # SIGTERM and SIGINT end the chat with the local Rasa server stopped (frontdoor.shutdown).
        code = run_until_stopped(lambda _stop: _chat(load_settings(), as_seller, no_nlu))
    except (RasaEnvironmentError, TrainingError, RasaServerError) as exc:
        typer.echo(f"error: {exc} (or chat without NLU: --no-nlu)", err=True)
        raise typer.Exit(1) from None
    if code:
        raise typer.Exit(code)


if __name__ == "__main__":  # pragma: no cover
    typer.run(chat)
    sys.exit(0)
