"""The command line refuses what it cannot do in one line on stderr, never a traceback: a
setting the operator got wrong (exit 2, before `serve` migrates or starts anything), a
database that does not answer (exit 1, as `db upgrade` says it), an invitation that could not
be used, and a case argument that is not one case number."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from frontdoor.cli import app
from storage.database import Database
from tests.integration.test_cli import seller_with_case

runner = CliRunner()


@pytest.fixture(autouse=True)
def no_env_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # no `.env` of the working tree
    for name in ("TELEGRAM_BOT_TOKEN", "SLACK_BOT_TOKEN", "FRONTDOOR_NLU_URL"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def any_db(db: Database, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("FRONTDOOR_DATABASE_URL", db.url)
    return db.url


def one_line_refusal(result: Result, exit_code: int = 2) -> str:
    assert result.exit_code == exit_code, result.output
    assert "Traceback" not in result.output and result.stdout == ""
    assert len(result.stderr.splitlines()) == 1, result.stderr
    return result.stderr.strip()


# Settings -------------------------------------------------------------------------------------
@pytest.mark.parametrize("command", [["outbox", "status"], ["case", "list"],
                                     ["invite", "create", "Acme"], ["case", "show", "1"]])
def test_an_unparseable_number_is_one_line_on_every_command(
        any_db: str, monkeypatch: pytest.MonkeyPatch, command: list[str]) -> None:
    monkeypatch.setenv("FRONTDOOR_DAILY_CASE_CAP", "abc")

    refused = one_line_refusal(runner.invoke(app, command))

    assert refused.startswith("error: FRONTDOOR_DAILY_CASE_CAP: Input should be a valid "
                              "integer") and "(got 'abc')" in refused


def test_help_still_works_with_a_bad_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FRONTDOOR_DAILY_CASE_CAP", "abc")

    assert runner.invoke(app, ["outbox", "status", "--help"]).exit_code == 0


def serve_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """A Telegram deployment `serve` would start (and migrate a fresh SQLite file for)."""
    database = tmp_path / "serve.db"
    monkeypatch.setenv("FRONTDOOR_DATABASE_URL", f"sqlite:///{database}")
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "1:x")
    monkeypatch.setenv("TELEGRAM_WEBHOOK_SECRET", "s3cret")
    # Were it started, the NLU would be this server, which nothing answers: no Rasa here.
    monkeypatch.setenv("FRONTDOOR_NLU_URL", "http://127.0.0.1:9")
    return database


@pytest.mark.parametrize(("variable", "value"), [
    ("FRONTDOOR_DIGEST_TIMEZONE", "Mars/Base"),
    ("FRONTDOOR_DIGEST_TIME", "9am"),
    ("FRONTDOOR_REMINDER_HOURS", "72,24"),
    ("FRONTDOOR_SWEEP_BATCH_SIZE", "0"),
    ("FRONTDOOR_FIRST_RESPONSE_WARNING_RATIO", "1.5"),
    ("FRONTDOOR_PORT", "99999"),
    ("TELEGRAM_MODE", "Pollin"),
    ("FRONTDOOR_KNOWLEDGE_BASE", "/nonexistent.yml"),
])
def test_serve_refuses_a_bad_setting_before_it_migrates_or_starts_anything(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, variable: str, value: str) -> None:
    database = serve_env(monkeypatch, tmp_path)
    monkeypatch.setenv(variable, value)

    refused = one_line_refusal(runner.invoke(app, ["serve"]))

    assert refused.startswith(f"error: {variable}: ")
    assert not database.exists()  # not migrated


def test_serve_refuses_a_malformed_knowledge_base_by_its_variable(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    database = serve_env(monkeypatch, tmp_path)
    articles = tmp_path / "articles.yml"
    articles.write_text("articles:\n  no_such_type:\n    title: Hi\n    body: There\n")
    monkeypatch.setenv("FRONTDOOR_KNOWLEDGE_BASE", str(articles))

    refused = one_line_refusal(runner.invoke(app, ["serve"]))

    assert refused.startswith("error: FRONTDOOR_KNOWLEDGE_BASE: ")
    assert "no_such_type: unknown case type" in refused and not database.exists()


# The database ---------------------------------------------------------------------------------
@pytest.mark.parametrize("url", [
    "postgresql+psycopg://someone:pw@127.0.0.1:1/nowhere",
    "sqlite:////nonexistent/directory/frontdoor.db",
])
def test_a_database_that_does_not_answer_is_one_line(
        monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    monkeypatch.setenv("FRONTDOOR_DATABASE_URL", url)

    for command in (["outbox", "status"], ["case", "list"], ["invite", "requests"]):
        refused = one_line_refusal(runner.invoke(app, command), exit_code=1)
        assert refused.startswith("error: could not use the database: "), refused
        assert "pw" not in refused


# Invitations ----------------------------------------------------------------------------------
def test_a_taken_invitation_code_is_refused(any_db: str) -> None:
    assert runner.invoke(app, ["invite", "create", "A", "--code", "DUP1"]).exit_code == 0

    refused = one_line_refusal(runner.invoke(app, ["invite", "create", "B", "--code", "dup1"]))

    assert refused == "error: the invitation code DUP1 is taken; choose another"


@pytest.mark.parametrize("days", ["0", "-5"])
def test_an_invitation_lasts_at_least_a_day(any_db: str, days: str) -> None:
    refused = one_line_refusal(runner.invoke(app, ["invite", "create", "C", "--days", days]))

    assert refused == f"error: --days must be 1 or more (got {days})"
    one_day = runner.invoke(app, ["invite", "create", "C", "--days", "1", "--json"])
    assert one_day.exit_code == 0 and json.loads(one_day.output)["seller_name"] == "C"


# Case numbers ---------------------------------------------------------------------------------
@pytest.mark.parametrize("typed", ["CX-1.5", "CX-1, CX-3", "about CX-1", "1 2", "CX-1x"])
def test_a_case_argument_that_is_not_one_case_number_is_an_unknown_case(
        any_db: str, typed: str) -> None:
    number = seller_with_case()

    shown = one_line_refusal(runner.invoke(app, ["case", "show", typed]))
    noted = one_line_refusal(runner.invoke(app, ["case", "note", typed, "a note"]))

    assert shown == noted == f"error: there is no case {typed}"
    detail = json.loads(runner.invoke(app, ["case", "show", number, "--json"]).output)
    assert [m["text"] for m in detail["messages"]] == ["my order is late"]


@pytest.mark.parametrize("typed", ["CX-000001", "cx-1", "CX 1", "cx000001", "1", "#1",
                                   " cx-1 "])
def test_the_loose_forms_of_one_case_number_still_name_it(any_db: str, typed: str) -> None:
    number = seller_with_case()

    shown = runner.invoke(app, ["case", "show", typed, "--json"])

    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.output)["case"]["number"] == number
