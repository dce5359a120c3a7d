"""What every command of the CLI shares: the services, loose case numbers, refusals as exit
code 2, and JSON output."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, is_dataclass
from datetime import datetime
from functools import wraps
from typing import Any, TypeVar

import typer

from bot.errors import CaseRuleError
from bot.identifiers import whole_case_number
from frontdoor.settings import load_settings
from frontdoor.wiring import Services, build_services

F = TypeVar("F", bound=Callable[..., Any])


def cli_services() -> Services:
    return build_services(load_settings())


def loose_case_number(text: str) -> str:
    """Agents type case numbers loosely ("cx-12", "CX 77", "4512"): accept what the bot
    accepts from sellers when it is the whole argument; anything else ("CX-1.5", "CX-1, CX-3",
    "about CX-1") is passed on as typed and refused as an unknown case, never taken for the
    first number in it."""
    return whole_case_number(text, load_settings().frontdoor_case_prefix) or text


NUMBER = typer.Argument(..., callback=loose_case_number, metavar="CASE",
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


def jsonable(value: Any) -> Any:
    if is_dataclass(value) and not isinstance(value, type):
        return {k: jsonable(v) for k, v in asdict(value).items()}
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def print_json(value: Any) -> None:
    typer.echo(json.dumps(jsonable(value), ensure_ascii=False, indent=2))
