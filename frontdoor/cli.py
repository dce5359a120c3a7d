"""`frontdoor`: the operator's and agent's command line.

Exit codes: 0 done, 1 unexpected failure (a database that does not answer among them), 2
refused (unknown case, rule refusal, bad input, a setting that cannot be used), with a one-line
reason on stderr (`frontdoor.cli_errors`).
"""

from __future__ import annotations

import asyncio
from dataclasses import asdict
from datetime import datetime

import typer

from frontdoor.case_cli import case_app
from frontdoor.chat_cli import chat
from frontdoor.cli_common import cli_services, print_json, refusals
from frontdoor.cli_errors import OneLineFailures
from frontdoor.nlu_cli import nlu_app
from frontdoor.serve_cli import serve
from frontdoor.settings import Settings, load_settings
from frontdoor.setup_cli import slack_app, telegram_app
from frontdoor.timestamps import human_date, human_time
from frontdoor.wiring import build_services

app = typer.Typer(
    help="Frontdoor: the chat front door of seller support.",
    no_args_is_help=True, add_completion=False, cls=OneLineFailures,
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
invite_app = typer.Typer(help="Invitations (registration is invitation-only).",
                         no_args_is_help=True)
outbox_app = typer.Typer(help="The outbox of platform messages.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(invite_app, name="invite")
app.add_typer(case_app, name="case")
app.add_typer(outbox_app, name="outbox")

# db ------------------------------------------------------------------------------------------
@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply the schema migrations to FRONTDOOR_DATABASE_URL (creating a SQLite file if
    there is none) and say what was done."""
    from storage.schema_upgrade import upgrade_with_report

    settings = load_settings()
    try:
        report = upgrade_with_report(settings.frontdoor_database_url)
    except Exception as exc:  # cannot connect, no such directory, no permission
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        typer.echo(f"error: could not upgrade the database: {reason}", err=True)
        raise typer.Exit(1) from None
    if report.new_file:
        typer.echo(f"created a new database: {report.where} (schema revision {report.after})")
    elif report.was_empty:
        typer.echo(f"created the schema in the empty database {report.where} "
                   f"(revision {report.after})")
    elif report.before != report.after:
        typer.echo(f"upgraded {report.where} from schema revision {report.before} to "
                   f"{report.after}: database is up to date")
    else:
        typer.echo(f"database is up to date ({report.where}, schema revision {report.after})")


# invite --------------------------------------------------------------------------------------
@invite_app.command("create")
@refusals
def invite_create(
    seller_name: str = typer.Argument(..., help="Name of the seller account to create."),
    sub_account_of: int | None = typer.Option(
        None, help="Seller id of the main account: the new seller is its sub-account."),
    days: int = typer.Option(14, help="Days until the code expires."),
    code: str | None = typer.Option(None, help="Use this code instead of a random one."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Create an invitation code for a new seller."""
    if days < 1:  # 0 would quietly mean the default, and less an expired code
        typer.echo(f"error: --days must be 1 or more (got {days})", err=True)
        raise typer.Exit(2)
    settings = load_settings()
    # A taken code or an unknown main account is the rule's refusal (exit 2, `refusals`).
    inv = build_services(settings).cases.create_invitation(seller_name, sub_account_of, days,
                                                           "cli", code)
    link, why_not = _telegram_link(settings, inv.code)
    if as_json:
        print_json({**asdict(inv), "telegram_link": link})
        return
    typer.echo(f"{inv.code}  for {inv.seller_name}, expires {human_date(inv.expires_at)}")
    if link:
        typer.echo(f"Telegram: {link}")
    else:
        typer.echo(f"Telegram: {why_not}; the seller sends /start {inv.code} to the bot "
                   "(or types the code in any chat with it)")


def _telegram_link(settings: Settings, code: str) -> tuple[str | None, str]:
    """The deep link to the bot that registers with ``code``, or None and why there is none.
    The bot's username comes from Telegram (getMe), so the link is the bot's real one."""
    if not settings.telegram.bot_token:
        return None, "no deep link without TELEGRAM_BOT_TOKEN"
    from adapters.telegram.bot_identity import BotIdentityUnavailable, bot_username, start_link

    try:
        username = asyncio.run(bot_username(settings.telegram.bot_token,
                                            settings.telegram.api_base_url))
    except BotIdentityUnavailable as exc:
        return None, f"no deep link ({exc})"
    link = start_link(username, code)
    if link is None:
        return None, f"no deep link (a start link cannot carry the code {code!r})"
    return link, ""


@invite_app.command("requests")
def invite_requests(as_json: bool = typer.Option(False, "--json")) -> None:
    """List invitation requests from unknown users."""
    rows = cli_services().cases.invitation_requests()
    if as_json:
        print_json(list(rows))
        return
    if not rows:
        typer.echo("no invitation requests")
    now = datetime.now().astimezone()
    for r in rows:
        asked = human_time(datetime.fromisoformat(r["created_at"]), now)
        typer.echo(f"#{r['id']} {asked}  {r['channel']}:{r['user']} {r['name'] or ''} — "
                   f"{r['note']}")


# outbox --------------------------------------------------------------------------------------
@outbox_app.command("status")
def outbox_status(as_json: bool = typer.Option(False, "--json")) -> None:
    """Counts of pending, sent, dead-lettered and withdrawn (deleted by an agent) items."""
    counts = cli_services().outbox_queue.counts()
    if as_json:
        print_json(counts)
    else:
        for k in ("pending", "sent", "dead", "withdrawn"):
            typer.echo(f"{k}: {counts.get(k, 0)}")


@outbox_app.command("dead")
def outbox_dead(as_json: bool = typer.Option(False, "--json")) -> None:
    """Dead-lettered items and why they failed."""
    rows = cli_services().outbox_queue.dead_letters()
    if as_json:
        print_json(rows)
        return
    if not rows:
        typer.echo("no dead-lettered items")
    for r in rows:
        typer.echo(f"#{r['id']} {r['destination']} {r['kind']} case {r['case_id']}: {r['error']}")


@outbox_app.command("retry")
def outbox_retry(item_id: int) -> None:
    """Queue a dead-lettered item again."""
    services = cli_services()
    if services.outbox_queue.retry_dead(item_id, services.clock.now()):
        typer.echo(f"item {item_id} queued again")
    else:
        # Why: unknown, still pending or sent, or withdrawn (an agent deleted it).
        typer.echo(f"error: {services.outbox_queue.retry_refusal(item_id)}", err=True)
        raise typer.Exit(2)


# Commands that live with their own parts.
app.add_typer(nlu_app, name="nlu", help="Train, serve, query and evaluate the NLU model.")
app.command("chat")(chat)
app.command("serve")(serve)
app.add_typer(slack_app, name="slack")
app.add_typer(telegram_app, name="telegram")
