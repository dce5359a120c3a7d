"""The command line's last word on failures every command shares: a setting the operator must
correct (exit 2) and a database that cannot be used (exit 1, as `db upgrade` says it), each in
one line on stderr instead of a traceback."""

from __future__ import annotations

from typing import Any

import typer
from typer.core import TyperGroup

from frontdoor.settings import SettingsError
from storage.database_failures import database_failure


class OneLineFailures(TyperGroup):
    """The root command group: its subcommands run inside ``invoke``, so what they raise
    passes through here. ``--help`` is answered before any command reads the settings."""

    def invoke(self, ctx: Any) -> Any:  # typer's own (vendored) click.Context
        try:
            return super().invoke(ctx)
        except SettingsError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from None
        except Exception as exc:
            reason = database_failure(exc)
            if reason is None:
                raise
            typer.echo(f"error: could not use the database: {reason}", err=True)
            raise typer.Exit(1) from None
