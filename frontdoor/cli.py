"""`frontdoor`: the operator's and agent's command line.

Exit codes: 0 done, 1 unexpected failure, 2 refused (unknown case, rule refusal, bad input),
with a one-line reason on stderr.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, is_dataclass
from datetime import datetime
from functools import wraps
from typing import Any, TypeVar

import typer

from bot.case_rules.evaluation import reason_text
from bot.domain import Case
from bot.errors import CaseRuleError
from bot.identifiers import normalise_case_number
from bot.texts import STATUS_LABELS
from frontdoor.chat_cli import chat
from frontdoor.nlu_cli import nlu_app
from frontdoor.serve_cli import serve
from frontdoor.settings import Settings, load_settings
from frontdoor.timestamps import age, human_date, human_time, zone_name
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
    settings = load_settings()
    inv = build_services(settings).cases.create_invitation(seller_name, sub_account_of, days,
                                                           "cli", code)
    link, why_not = _telegram_link(settings, inv.code)
    if as_json:
        _print_json({**asdict(inv), "telegram_link": link})
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
    if not settings.telegram_bot_token:
        return None, "no deep link without TELEGRAM_BOT_TOKEN"
    from adapters.telegram.bot_identity import BotIdentityUnavailable, bot_username, start_link

    try:
        username = asyncio.run(bot_username(settings.telegram_bot_token,
                                            settings.telegram_api_base_url))
    except BotIdentityUnavailable as exc:
        return None, f"no deep link ({exc})"
    link = start_link(username, code)
    if link is None:
        return None, f"no deep link (a start link cannot carry the code {code!r})"
    return link, ""


@invite_app.command("requests")
def invite_requests(as_json: bool = typer.Option(False, "--json")) -> None:
    """List invitation requests from unknown users."""
    rows = _services().cases.invitation_requests()
    if as_json:
        _print_json(list(rows))
        return
    if not rows:
        typer.echo("no invitation requests")
    now = datetime.now().astimezone()
    for r in rows:
        asked = human_time(datetime.fromisoformat(r["created_at"]), now)
        typer.echo(f"#{r['id']} {asked}  {r['channel']}:{r['user']} {r['name'] or ''} — "
                   f"{r['note']}")


# case ----------------------------------------------------------------------------------------
def _status(status: str) -> str:
    """What the seller sees, then the status agents set: "In progress (investigating)"."""
    return f"{STATUS_LABELS.get(status, status)} ({status})"


def _flags(c: Case) -> str:
    return " ".join(flag for flag, on in (("URGENT", c.urgent), ("HUMAN", c.needs_human)) if on)


def _seller_names(services: Services, seller_ids: Iterable[int]) -> dict[int, str]:
    with services.uow_factory(read_only=True) as uow:
        sellers = {i: uow.sellers.get(i) for i in set(seller_ids)}
    return {i: s.display_name if s else "?" for i, s in sellers.items()}


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """Columns as wide as their widest cell; the last one (free text) is not padded."""
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header) - 1)]
    return ["  ".join([*(str(cell).ljust(w) for cell, w in zip(r, widths, strict=False)),
                       str(r[-1])]).rstrip() for r in [header, *rows]]


def _print_cases(services: Services, cases: Sequence[Case], empty: str) -> None:
    if not cases:
        typer.echo(empty)
        return
    names = _seller_names(services, (c.seller_id for c in cases))
    now = services.clock.now()
    rows = [(c.number, _status(c.status), c.case_type or "-",
             f"{names[c.seller_id]} (#{c.seller_id})", age(c.updated_at, now), _flags(c) or "-",
             c.title) for c in cases]
    for line in _table(("CASE", "STATUS", "TYPE", "SELLER", "UPDATED", "FLAGS", "TITLE"), rows):
        typer.echo(line)


@case_app.command("list")
@refusals
def case_list(
    status: str = typer.Option("in_progress", help="in_progress | closed | all | a status"),
    limit: int = typer.Option(50),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """List cases, newest activity first."""
    services = _services()
    cases = services.cases.search_cases(status, None, limit)
    if as_json:
        _print_json(cases)
        return
    _print_cases(services, cases, "no cases")


@case_app.command("search")
@refusals
def case_search(
    query: str = typer.Argument(..., help="Case number, order id, or words of the title "
                                          "or of the conversation (notes included)."),
    status: str = typer.Option("all"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Search cases by number, order id, title or words in their messages."""
    services = _services()
    cases = services.cases.search_cases(status, query, 50)
    if as_json:
        _print_json(cases)
        return
    _print_cases(services, cases, "no matching cases")


@case_app.command("show")
@refusals
def case_show(number: str = NUMBER, as_json: bool = JSON) -> None:
    """Show a case with its conversation, notes and events."""
    services = _services()
    detail = services.cases.get_case(number)
    if as_json:
        _print_json(detail)
        return
    c = detail.case
    now = services.clock.now()

    def when(moment: datetime) -> str:
        return human_time(moment, now)

    seller = _seller_names(services, [c.seller_id])[c.seller_id]
    flags = f"   {_flags(c)}" if _flags(c) else ""
    typer.echo(f"{c.number}  {c.title}{flags}")
    typer.echo(f"status: {_status(c.status)}   type: {c.case_type or '-'}   "
               f"order: {c.order_id or '-'}   seller: {seller} (#{c.seller_id})")
    typer.echo(f"opened {when(c.created_at)} ({age(c.created_at, now)}), last activity "
               f"{when(c.updated_at)} ({age(c.updated_at, now)}); times in {zone_name(now)}")
    if detail.reopened_from:
        typer.echo(f"reopened from {detail.reopened_from}")
    if detail.reopened_as:
        typer.echo(f"reopened as {detail.reopened_as}")
    if detail.evaluation:
        ev = detail.evaluation
        reason = f" — {reason_text(ev)}" if ev.reason_code or ev.reason else ""
        typer.echo(f"evaluation: {ev.level}{reason}")
    typer.echo("--- conversation")
    for m in detail.messages:
        who = f"{m.author_kind}:{m.author_name or m.author_ref or ''}"
        note = " [note]" if m.internal else ""
        typer.echo(f"{when(m.created_at)} {who}{note}: {m.text}")
        for file in m.attachments:
            typer.echo(f"    [file] {_file_line(file)}")
    typer.echo("--- events")
    for e in detail.events:
        typer.echo(f"{when(e.created_at)} {e.kind} {e.from_value or ''} -> "
                   f"{e.to_value or ''} by {e.actor_kind}:{e.actor_ref or ''}"
                   f"{' (' + e.reason + ')' if e.reason else ''}")


def _file_line(file: dict[str, Any]) -> str:
    """A seller's file: its name, kind and size, and where it is (a console user's path on
    this computer, a link) when that is known."""
    size = file.get("size")
    details = ", ".join(str(x) for x in (file.get("kind"), file.get("mime_type"),
                                         f"{size:,} bytes" if isinstance(size, int) else None)
                        if x)
    place = file.get("url") or (file.get("file_id") if file.get("source") == "console" else None)
    return (f"{file.get('file_name') or 'unnamed'} ({details})"
            + (f" at {place}" if place else ""))


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


@case_app.command("type")
@refusals
def case_change_type(
    number: str = NUMBER,
    new_type: str = typer.Argument(..., metavar="TYPE", help="A case type, e.g. listing"),
    agent: str = typer.Option("cli", "--as"), as_json: bool = JSON,
) -> None:
    """Change a case's type (refused onto a declined issue or another active case's)."""
    case = _services().cases.change_type(number, new_type, "agent", agent)
    if as_json:
        _print_json(case)
        return
    typer.echo(f"{case.number} is now {case.title}")


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
