"""Issue 12: the CLI controls a case as the Slack card does: `case assign`, close through
`case status`, `case urgent` on and off; `case show` names the assignee and the agents credited
(SQLite and PostgreSQL)."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from frontdoor.cli import app
from storage.database import Database
from tests.integration.test_cli import seller_with_case

runner = CliRunner()


@pytest.fixture
def any_db(db: Database, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("FRONTDOOR_DATABASE_URL", db.url)
    return db.url


def test_assign_reply_resolve_and_close_from_the_cli(any_db: str) -> None:
    number = seller_with_case()

    assigned = runner.invoke(app, ["case", "assign", number, "U0AGENT01", "--name", "grace"])
    assert assigned.exit_code == 0, assigned.output
    assert f"{number} is assigned to grace (U0AGENT01)" in assigned.output
    as_json = runner.invoke(app, ["case", "assign", number, "ann", "--json"])
    assert json.loads(as_json.output)["assignee_ref"] == "ann"
    assert runner.invoke(app, ["case", "reply", number, "On it", "--as", "ann"]).exit_code == 0
    assert runner.invoke(app, ["case", "status", number, "resolved", "--as", "bob"]
                         ).exit_code == 0

    shown = runner.invoke(app, ["case", "show", number])
    assert "assignee: ann   first response by: ann   resolved by: bob" in shown.output
    assert "assignee U0AGENT01 -> ann by agent:cli" in shown.output

    closed = runner.invoke(app, ["case", "status", number, "closed"])
    assert closed.exit_code == 0 and f"{number} is now closed" in closed.output
    refused = runner.invoke(app, ["case", "assign", number, "ann"])
    assert refused.exit_code == 2 and "closed" in refused.output


def test_unassign_and_urgent_toggle(any_db: str) -> None:
    number = seller_with_case()
    runner.invoke(app, ["case", "assign", number, "ann"])

    cleared = runner.invoke(app, ["case", "assign", number, "--nobody"])
    assert cleared.exit_code == 0 and f"{number} is unassigned" in cleared.output
    assert "assignee: -" in runner.invoke(app, ["case", "show", number]).output
    on = runner.invoke(app, ["case", "urgent", number])
    off = runner.invoke(app, ["case", "urgent", number, "--off"])
    assert "urgent: on" in on.output and "urgent: off" in off.output


@pytest.mark.parametrize("args", [[], ["ann", "--nobody"]])
def test_assign_needs_exactly_one_of_agent_or_nobody(any_db: str, args: list[str]) -> None:
    number = seller_with_case()
    result = runner.invoke(app, ["case", "assign", number, *args])
    assert result.exit_code == 2
    assert "--nobody" in result.output


def test_assign_help() -> None:
    result = runner.invoke(app, ["case", "assign", "--help"])
    assert result.exit_code == 0 and "Assign a case to an agent" in result.output
