"""`frontdoor`: the operator's and agent's command line.

Exit codes: 0 done, 1 unexpected failure, 2 refused (unknown case, rule refusal, bad input),
with a one-line reason on stderr.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, is_dataclass
from datetime import datetime
from functools import wraps
from typing import Any, TypeVar

import typer

from bot.errors import CaseRuleError
from bot.identifiers import normalise_case_number
from bot.texts import STATUS_LABELS
from frontdoor.chat_cli import chat
from frontdoor.nlu_cli import nlu_app
from frontdoor.serve_cli import serve
from frontdoor.settings import load_settings
from frontdoor.wiring import Services, build_services

app = typer.Typer(
    help="Frontdoor: the chat front door of seller support.",
    no_args_is_help=True, add_completion=False,
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
invite_app = typer.Typer(help="Invitations (registration is invitation-only).",
                         no_args_is_help=True)
case_app = typer.Typer(help="Cases: the agent side from the terminal.", no_args_is_help=True)
outbox_app = typer.Typer(help="The outbox of platform messages.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(invite_app, name="invite")
app.add_typer(case_app, name="case")
app.add_typer(outbox_app, name="outbox")

F = TypeVar("F", bound=Callable[..., Any])


def _services() -> Services:
    return build_services(load_settings())


def _case_number(text: str) -> str:
    """Agents type case numbers loosely ("cx-12", "CX 77", "4512"): accept what the bot
    accepts from sellers; anything else is passed on and refused as an unknown case."""
    return normalise_case_number(text, load_settings().frontdoor_case_prefix) or text


NUMBER = typer.Argument(..., callback=_case_number, metavar="CASE",
                        help='Case number: "CX-000012", "cx-12" and "12" all work.')
JSON = typer.Option(False, "--json", help="Machine-readable output.")


def refusals(func: F) -> F:
    """Turn rule refusals into exit code 2 with the reason, not a traceback."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except CaseRuleError as err:
            typer.echo(f"error: {err}", err=True)
            raise typer.Exit(2) from None

    return wrapper  # type: ignore[return-value]


def _jsonable(value: Any) -> Any:
    if is_dataclass(value) and not isinstance(value, type):
        return {k: _jsonable(v) for k, v in asdict(value).items()}
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def _print_json(value: Any) -> None:
    typer.echo(json.dumps(_jsonable(value), ensure_ascii=False, indent=2))


# db ------------------------------------------------------------------------------------------
@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply the schema migrations to FRONTDOOR_DATABASE_URL."""
    from storage.migrate import upgrade

    settings = load_settings()
    upgrade(settings.frontdoor_database_url)
    typer.echo("database is up to date")


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
    inv = _services().cases.create_invitation(seller_name, sub_account_of, days, "cli", code)
    if as_json:
        _print_json(inv)
    else:
        typer.echo(f"{inv.code}  for {inv.seller_name}, expires {inv.expires_at:%Y-%m-%d}")
        typer.echo(f"Telegram deep link: /start {inv.code}")


@invite_app.command("requests")
def invite_requests(as_json: bool = typer.Option(False, "--json")) -> None:
    """List invitation requests from unknown users."""
    rows = _services().cases.invitation_requests()
    if as_json:
        _print_json(list(rows))
        return
    if not rows:
        typer.echo("no invitation requests")
    for r in rows:
        typer.echo(f"#{r['id']} {r['channel']}:{r['user']} {r['name'] or ''} — {r['note']}")


# case ----------------------------------------------------------------------------------------
def _case_line(c: Any) -> str:
    flags = " URGENT" if c.urgent else ""
    flags += " HUMAN" if c.needs_human else ""
    return (f"{c.number}  {c.status:<13} {c.case_type or '-':<15} seller {c.seller_id:<5} "
            f"{c.title}{flags}")


@case_app.command("list")
@refusals
def case_list(
    status: str = typer.Option("in_progress", help="in_progress | closed | all | a status"),
    limit: int = typer.Option(50),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """List cases, newest activity first."""
    cases = _services().cases.search_cases(status, None, limit)
    if as_json:
        _print_json(cases)
        return
    if not cases:
        typer.echo("no cases")
    for c in cases:
        typer.echo(_case_line(c))


@case_app.command("search")
@refusals
def case_search(
    query: str = typer.Argument(..., help="Case number, order id or words of the title."),
    status: str = typer.Option("all"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Search cases by number, order id or title."""
    cases = _services().cases.search_cases(status, query, 50)
    if as_json:
        _print_json(cases)
        return
    if not cases:
        typer.echo("no matching cases")
    for c in cases:
        typer.echo(_case_line(c))


@case_app.command("show")
@refusals
def case_show(number: str = NUMBER, as_json: bool = JSON) -> None:
    """Show a case with its conversation, notes and events."""
    detail = _services().cases.get_case(number)
    if as_json:
        _print_json(detail)
        return
    c = detail.case
    typer.echo(_case_line(c))
    typer.echo(f"status: {STATUS_LABELS[c.status]} ({c.status})   order: {c.order_id or '-'}   "
               f"opened: {c.created_at:%Y-%m-%d %H:%M}")
    if detail.reopened_from:
        typer.echo(f"reopened from {detail.reopened_from}")
    if detail.reopened_as:
        typer.echo(f"reopened as {detail.reopened_as}")
    if detail.evaluation:
        typer.echo(f"evaluation: {detail.evaluation.level} {detail.evaluation.reason or ''}")
    typer.echo("--- conversation")
    for m in detail.messages:
        who = f"{m.author_kind}:{m.author_name or m.author_ref or ''}"
        note = " [note]" if m.internal else ""
        files = f" [{len(m.attachments)} file(s)]" if m.attachments else ""
        typer.echo(f"{m.created_at:%m-%d %H:%M} {who}{note}{files}: {m.text}")
    typer.echo("--- events")
    for e in detail.events:
        typer.echo(f"{e.created_at:%m-%d %H:%M} {e.kind} {e.from_value or ''} -> "
                   f"{e.to_value or ''} by {e.actor_kind}:{e.actor_ref or ''}"
                   f"{' (' + e.reason + ')' if e.reason else ''}")


@case_app.command("reply")
@refusals
def case_reply(
    number: str = NUMBER, text: str = typer.Argument(...),
    agent: str = typer.Option("cli", "--as", help="Agent name shown in the thread."),
    as_json: bool = JSON,
) -> None:
    """Reply to the seller (queued through the outbox to the seller's chat)."""
    case, msg = _services().cases.agent_reply(number, agent, text, agent_name=agent)
    if as_json:
        _print_json({"case": case, "message": msg})
        return
    typer.echo(f"reply queued for {case.number}")


@case_app.command("note")
@refusals
def case_note(
    number: str = NUMBER, text: str = typer.Argument(...),
    agent: str = typer.Option("cli", "--as"), as_json: bool = JSON,
) -> None:
    """Add an internal note (never shown to the seller)."""
    msg = _services().cases.internal_note(number, agent, text, agent_name=agent)
    if as_json:
        _print_json({"number": number, "message": msg})
        return
    typer.echo(f"note added to {number}")


@case_app.command("status")
@refusals
def case_status(
    number: str = NUMBER,
    status: str = typer.Argument(..., help="open | investigating | pending | resolved | "
                                           "closed | declined"),
    reason: str | None = typer.Option(None, help="Why (shown to the seller when declining)."),
    agent: str = typer.Option("cli", "--as"), as_json: bool = JSON,
) -> None:
    """Change a case's status."""
    case = _services().cases.change_status(number, status, "agent", agent, reason)
    if as_json:
        _print_json(case)
        return
    typer.echo(f"{case.number} is now {case.status}")


@case_app.command("urgent")
@refusals
def case_urgent(number: str = NUMBER, off: bool = typer.Option(False, "--off"),
                agent: str = typer.Option("cli", "--as"), as_json: bool = JSON) -> None:
    """Flag a case urgent (or remove the flag with --off)."""
    case = _services().cases.set_urgent(number, not off, "agent", agent)
    if as_json:
        _print_json(case)
        return
    typer.echo(f"{case.number} urgent: {'on' if case.urgent else 'off'}")


# outbox --------------------------------------------------------------------------------------
@outbox_app.command("status")
def outbox_status(as_json: bool = typer.Option(False, "--json")) -> None:
    """Counts of pending, sent and dead-lettered items."""
    counts = _services().outbox_queue.counts()
    if as_json:
        _print_json(counts)
    else:
        for k in ("pending", "sent", "dead"):
            typer.echo(f"{k}: {counts.get(k, 0)}")


@outbox_app.command("dead")
def outbox_dead(as_json: bool = typer.Option(False, "--json")) -> None:
    """Dead-lettered items and why they failed."""
    rows = _services().outbox_queue.dead_letters()
    if as_json:
        _print_json(rows)
        return
    if not rows:
        typer.echo("no dead-lettered items")
    for r in rows:
        typer.echo(f"#{r['id']} {r['destination']} {r['kind']} case {r['case_id']}: {r['error']}")


@outbox_app.command("retry")
def outbox_retry(item_id: int) -> None:
    """Queue a dead-lettered item again."""
    services = _services()
    if services.outbox_queue.retry_dead(item_id, services.clock.now()):
        typer.echo(f"item {item_id} queued again")
    else:
        typer.echo(f"error: no dead-lettered item {item_id}", err=True)
        raise typer.Exit(2)


# Commands that live with their own parts.
app.add_typer(nlu_app, name="nlu", help="Train, serve, query and evaluate the NLU model.")
app.command("chat")(chat)
app.command("serve")(serve)
