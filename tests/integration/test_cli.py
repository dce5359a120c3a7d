"""The `frontdoor` command line, run in-process against a real database."""

from __future__ import annotations

import json
import os
import re
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from frontdoor.cli import app
from frontdoor.settings import load_settings
from frontdoor.wiring import build_services
from storage.database import Database
from storage.migrate import current_head, upgrade
from tests.standins import Fault
from tests.standins.telegram_api import TelegramStandIn

runner = CliRunner()


@pytest.fixture
def db_url(tmp_path: os.PathLike[str], monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path}/cli.db"
    monkeypatch.setenv("FRONTDOOR_DATABASE_URL", url)
    result = runner.invoke(app, ["db", "upgrade"])
    assert result.exit_code == 0, result.output
    return url


def seller_with_case() -> str:
    services = build_services(load_settings())
    inv = services.cases.create_invitation("Acme")
    ident, _ = services.cases.identify("console", "me")
    seller = services.cases.register(ident.id, inv.code)
    case = services.cases.open_case(seller.id, "order", "my order is late",
                                    order_id="123-1234567-1234567", identity_id=ident.id)
    return case.case.number


def test_invite_create_json(db_url: str) -> None:
    result = runner.invoke(app, ["invite", "create", "Acme Ltd", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["seller_name"] == "Acme Ltd" and re.fullmatch(r"[A-Z2-9]{4}-[A-Z2-9]{4}", data["code"])


def test_case_reply_note_status_show(db_url: str) -> None:
    number = seller_with_case()
    assert runner.invoke(app, ["case", "reply", number, "We are on it", "--as", "Ann"]).exit_code == 0
    assert runner.invoke(app, ["case", "note", number, "VIP seller"]).exit_code == 0
    result = runner.invoke(app, ["case", "status", number, "pending", "--reason", "need invoice"])
    assert result.exit_code == 0 and "pending" in result.output
    shown = runner.invoke(app, ["case", "show", number, "--json"])
    assert shown.exit_code == 0
    detail = json.loads(shown.output)
    assert [m["text"] for m in detail["messages"]] == [
        "my order is late", "We are on it", "VIP seller"]
    assert detail["messages"][2]["internal"] is True
    assert detail["case"]["status"] == "pending"
    text = runner.invoke(app, ["case", "show", number]).output
    assert "[note]" in text and "need invoice" in text


def test_case_list_and_search(db_url: str) -> None:
    number = seller_with_case()
    listed = runner.invoke(app, ["case", "list", "--json"])
    assert [c["number"] for c in json.loads(listed.output)] == [number]
    found = runner.invoke(app, ["case", "search", "123-1234567-1234567"])
    assert number in found.output
    none = runner.invoke(app, ["case", "search", "nothing-like-this"])
    assert "no matching cases" in none.output


def test_loosely_typed_case_numbers_and_json_output(db_url: str) -> None:
    number = seller_with_case()
    assert number == "CX-000001"
    replied = runner.invoke(app, ["case", "reply", "cx-1", "On it", "--json"])
    assert replied.exit_code == 0, replied.output
    data = json.loads(replied.output)
    assert data["case"]["number"] == number and data["message"]["text"] == "On it"
    noted = runner.invoke(app, ["case", "note", "CX 1", "checked the carrier", "--json"])
    assert json.loads(noted.output)["number"] == number
    status = runner.invoke(app, ["case", "status", "1", "investigating", "--json"])
    assert json.loads(status.output)["status"] == "investigating"
    urgent = runner.invoke(app, ["case", "urgent", "cx000001", "--json"])
    assert json.loads(urgent.output)["urgent"] is True
    shown = runner.invoke(app, ["case", "show", "#1", "--json"])
    assert [m["text"] for m in json.loads(shown.output)["messages"]] == [
        "my order is late", "On it", "checked the carrier"]


def test_unknown_case_exits_2_with_a_clear_message(db_url: str) -> None:
    result = runner.invoke(app, ["case", "show", "CX-424242"])
    assert result.exit_code == 2
    assert "there is no case CX-424242" in result.output


def test_refused_transition_exits_2(db_url: str) -> None:
    number = seller_with_case()
    assert runner.invoke(app, ["case", "status", number, "declined"]).exit_code == 0
    result = runner.invoke(app, ["case", "status", number, "open"])
    assert result.exit_code == 2 and "final" in result.output
    bad = runner.invoke(app, ["case", "status", number, "bogus"])
    assert bad.exit_code == 2 and "unknown status" in bad.output


def test_outbox_status_and_dead_letters(db_url: str) -> None:
    number = seller_with_case()
    runner.invoke(app, ["case", "reply", number, "hello"])
    status = runner.invoke(app, ["outbox", "status", "--json"])
    assert status.exit_code == 0
    # Without Slack only the seller-bound reply is queued (to the console chat).
    assert json.loads(status.output) == {"pending": 1}
    dead = runner.invoke(app, ["outbox", "dead"])
    assert "no dead-lettered items" in dead.output
    retry = runner.invoke(app, ["outbox", "retry", "999"])
    assert retry.exit_code == 2


@pytest.mark.parametrize("args", [
    [], ["case"], ["invite"], ["db"], ["outbox"], ["nlu"],
    ["case", "list"], ["case", "search"], ["case", "show"], ["case", "reply"], ["case", "note"],
    ["case", "status"], ["case", "urgent"], ["invite", "create"], ["invite", "requests"],
    ["db", "upgrade"], ["outbox", "status"], ["outbox", "dead"], ["outbox", "retry"],
    ["nlu", "train"], ["nlu", "serve"], ["nlu", "parse"], ["nlu", "evaluate"], ["chat"], ["serve"],
])
def test_help_everywhere(args: list[str]) -> None:
    result = runner.invoke(app, [*args, "--help"])
    assert result.exit_code == 0 and "Usage" in result.output


# Issue 11 — the CLI as a newcomer meets it ---------------------------------------------------
ORDER = "123-1234567-1234567"


@pytest.fixture
def any_db(db: Database, monkeypatch: pytest.MonkeyPatch) -> str:
    """The CLI on SQLite and on PostgreSQL (the test session's scratch database)."""
    monkeypatch.setenv("FRONTDOOR_DATABASE_URL", db.url)
    return db.url


def _lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.strip()]


def test_case_list_has_a_header_seller_names_and_plain_status_labels(any_db: str) -> None:
    number = seller_with_case()
    assert runner.invoke(app, ["case", "status", number, "pending", "--reason", "invoice?"]
                         ).exit_code == 0
    listed = runner.invoke(app, ["case", "list"])
    assert listed.exit_code == 0, listed.output
    header, row = _lines(listed.output)
    assert header.split() == ["CASE", "STATUS", "TYPE", "SELLER", "UPDATED", "FLAGS", "TITLE"]
    assert row.startswith(number)
    assert "Waiting for you (pending)" in row and "Acme (#1)" in row and ORDER in row
    # The columns line up under the header.
    assert row.index("Waiting for you") == header.index("STATUS")
    assert row.index("Acme") == header.index("SELLER")


def test_case_search_also_finds_words_in_the_messages(any_db: str) -> None:
    number = seller_with_case()
    services = build_services(load_settings())
    services.cases.agent_reply(number, "ann", "Could you check your bank details?")
    services.cases.internal_note(number, "ann", "Seller mentioned 100% of the stock")
    for query in ("bank details", "DETAILS bank", "100%", "my order"):
        found = runner.invoke(app, ["case", "search", query, "--json"])
        assert found.exit_code == 0, found.output
        assert [c["number"] for c in json.loads(found.output)] == [number], query
    # Every word must be there (in one message), and % is a character, not a wildcard.
    for query in ("bank account", "10%0", "details carrier"):
        assert json.loads(runner.invoke(app, ["case", "search", query, "--json"]).output) == []
    # The status filter applies to what the words found too.
    closed = runner.invoke(app, ["case", "search", "bank details", "--status", "closed"])
    assert "no matching cases" in closed.output
    shown = runner.invoke(app, ["case", "search", "bank details"])
    assert number in shown.output and "Acme (#1)" in shown.output


ISO_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}|\d{2}-\d{2} \d{2}:\d{2}")


def test_timestamps_are_human_readable(any_db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    try:
        number = seller_with_case()
        runner.invoke(app, ["case", "reply", number, "We are on it"])
        shown = runner.invoke(app, ["case", "show", number])
        assert shown.exit_code == 0, shown.output
        conversation = shown.output.split("--- conversation")[1]
        assert ISO_TIME.search(conversation) is None, conversation
        assert re.search(r"^today \d{2}:\d{2} seller:Acme: my order is late$", conversation,
                         re.MULTILINE), conversation
        assert re.search(r"opened today \d{2}:\d{2} \((just now|\d+ min ago)\)", shown.output)
        assert "times in UTC" in shown.output
        invited = runner.invoke(app, ["invite", "create", "Beta", "--days", "14"])
        expires = datetime.now(UTC) + timedelta(days=14)
        assert f"expires {expires.day} {expires:%b %Y}" in invited.output
        listed = runner.invoke(app, ["case", "list"])
        assert re.search(r"(just now|\d+ min ago)", listed.output) and not ISO_TIME.search(
            listed.output)
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()


def test_invite_create_prints_the_bots_telegram_deep_link(
        db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    with TelegramStandIn(bot_username="ceylexo_support_bot").running_in_thread() as telegram:
        monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "4242:SECRET-TOKEN")
        monkeypatch.setenv("TELEGRAM_API_BASE_URL", telegram.base_url)
        result = runner.invoke(app, ["invite", "create", "Nina's Crafts", "--code", "NINA-2026"])
        assert result.exit_code == 0, result.output
        assert "Telegram: https://t.me/ceylexo_support_bot?start=NINA-2026" in result.output
        assert len(telegram.calls("getMe")) >= 1
        as_json = runner.invoke(app, ["invite", "create", "Omar", "--json"])
        data = json.loads(as_json.output)
        assert data["telegram_link"] == f"https://t.me/ceylexo_support_bot?start={data['code']}"

        # Telegram refuses the token: the invitation stands, no link, and no token shown.
        telegram.fail_next("getMe", Fault(401, {"ok": False, "error_code": 401,
                                                "description": "Unauthorized"}))
        refused = runner.invoke(app, ["invite", "create", "Pia"])
        assert refused.exit_code == 0, refused.output
        assert "t.me/" not in refused.output and "refused the bot token" in refused.output
        assert "SECRET-TOKEN" not in refused.output
        code = refused.output.split()[0]
        assert f"/start {code}" in refused.output


def test_invite_create_without_telegram_says_how_to_use_the_code(
        db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
    result = runner.invoke(app, ["invite", "create", "Quinn"])
    code = result.output.split()[0]
    assert "no deep link without TELEGRAM_BOT_TOKEN" in result.output
    assert f"/start {code}" in result.output and "t.me/" not in result.output


def test_db_upgrade_says_when_it_created_the_database(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    file = tmp_path / "fresh.db"
    monkeypatch.setenv("FRONTDOOR_DATABASE_URL", f"sqlite:///{file}")
    head = current_head()
    created = runner.invoke(app, ["db", "upgrade"])
    assert created.exit_code == 0, created.output
    assert created.output.strip() == (
        f"created a new database: {file} (schema revision {head})")
    again = runner.invoke(app, ["db", "upgrade"])
    assert again.output.strip() == f"database is up to date ({file}, schema revision {head})"

    older = tmp_path / "older.db"
    upgrade(f"sqlite:///{older}", "0003")
    monkeypatch.setenv("FRONTDOOR_DATABASE_URL", f"sqlite:///{older}")
    upgraded = runner.invoke(app, ["db", "upgrade"])
    assert upgraded.output.strip() == (
        f"upgraded {older} from schema revision 0003 to {head}: database is up to date")

    monkeypatch.setenv("FRONTDOOR_DATABASE_URL", f"sqlite:///{tmp_path}/no/such/dir/x.db")
    failed = runner.invoke(app, ["db", "upgrade"])
    assert failed.exit_code == 1 and "could not upgrade the database" in failed.output


def test_db_upgrade_of_an_empty_postgresql_database(postgres_url: str,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    url = make_url(postgres_url)
    name = f"fd_empty_{uuid.uuid4().hex[:8]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        empty = url.set(database=name).render_as_string(hide_password=False)
        monkeypatch.setenv("FRONTDOOR_DATABASE_URL", empty)
        created = runner.invoke(app, ["db", "upgrade"])
        assert created.exit_code == 0, created.output
        assert created.output.startswith("created the schema in the empty database ")
        head = current_head()
        assert head is not None and name in created.output and head in created.output
        again = runner.invoke(app, ["db", "upgrade"])
        assert again.output.startswith("database is up to date")
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
