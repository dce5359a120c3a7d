"""`frontdoor case ...`: the agent side of cases from the terminal."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import typer

from bot.case_rules.evaluation import reason_text
from bot.domain import Case
from bot.texts import STATUS_LABELS
from frontdoor.cli_common import JSON, NUMBER, cli_services, print_json, refusals
from frontdoor.timestamps import age, human_time, zone_name
from frontdoor.wiring import Services

case_app = typer.Typer(help="Cases: the agent side from the terminal.", no_args_is_help=True)


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
    services = cli_services()
    cases = services.cases.search_cases(status, None, limit)
    if as_json:
        print_json(cases)
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
    services = cli_services()
    cases = services.cases.search_cases(status, query, 50)
    if as_json:
        print_json(cases)
        return
    _print_cases(services, cases, "no matching cases")


@case_app.command("show")
@refusals
def case_show(number: str = NUMBER, as_json: bool = JSON) -> None:
    """Show a case with its conversation, notes and events."""
    services = cli_services()
    detail = services.cases.get_case(number)
    if as_json:
        print_json(detail)
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
    typer.echo(f"assignee: {_assignee(c)}   first response by: {c.first_response_by or '-'}"
               f"   resolved by: {c.resolved_by or '-'}")
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


def _assignee(c: Case) -> str:
    if not c.assignee_ref:
        return "-"
    if c.assignee_name and c.assignee_name != c.assignee_ref:
        return f"{c.assignee_name} ({c.assignee_ref})"
    return c.assignee_ref


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
    case, msg = cli_services().cases.agent_reply(number, agent, text, agent_name=agent)
    if as_json:
        print_json({"case": case, "message": msg})
        return
    typer.echo(f"reply queued for {case.number}")


@case_app.command("note")
@refusals
def case_note(
    number: str = NUMBER, text: str = typer.Argument(...),
    agent: str = typer.Option("cli", "--as"), as_json: bool = JSON,
) -> None:
    """Add an internal note (never shown to the seller)."""
    msg = cli_services().cases.internal_note(number, agent, text, agent_name=agent)
    if as_json:
        print_json({"number": number, "message": msg})
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
    case = cli_services().cases.change_status(number, status, "agent", agent, reason)
    if as_json:
        print_json(case)
        return
    typer.echo(f"{case.number} is now {case.status}")


@case_app.command("assign")
@refusals
def case_assign(
    number: str = NUMBER,
    agent: str | None = typer.Argument(None, metavar="AGENT",
                                       help="The agent taking the case: a name, or a Slack "
                                            "user id (U…) to mention them on the card."),
    name: str | None = typer.Option(None, help="The agent's display name, if AGENT is an id."),
    nobody: bool = typer.Option(False, "--nobody", help="Unassign the case."),
    actor: str = typer.Option("cli", "--as"), as_json: bool = JSON,
) -> None:
    """Assign a case to an agent (shown on its Slack card and in the digest)."""
    if (agent is None) == (not nobody):
        raise typer.BadParameter("give an AGENT, or --nobody to unassign")
    case = cli_services().cases.assign(number, None if nobody else agent, name, "agent", actor)
    if as_json:
        print_json(case)
        return
    typer.echo(f"{case.number} is assigned to {_assignee(case)}" if case.assignee_ref
               else f"{case.number} is unassigned")


@case_app.command("type")
@refusals
def case_change_type(
    number: str = NUMBER,
    new_type: str = typer.Argument(..., metavar="TYPE", help="A case type, e.g. listing"),
    agent: str = typer.Option("cli", "--as"), as_json: bool = JSON,
) -> None:
    """Change a case's type (refused onto a declined issue or another active case's)."""
    case = cli_services().cases.change_type(number, new_type, "agent", agent)
    if as_json:
        print_json(case)
        return
    typer.echo(f"{case.number} is now {case.title}")


@case_app.command("urgent")
@refusals
def case_urgent(number: str = NUMBER, off: bool = typer.Option(False, "--off"),
                agent: str = typer.Option("cli", "--as"), as_json: bool = JSON) -> None:
    """Flag a case urgent (or remove the flag with --off)."""
    case = cli_services().cases.set_urgent(number, not off, "agent", agent)
    if as_json:
        print_json(case)
        return
    typer.echo(f"{case.number} urgent: {'on' if case.urgent else 'off'}")
