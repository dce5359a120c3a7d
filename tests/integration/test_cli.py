"""The `frontdoor` command line, run in-process against a real database."""

from __future__ import annotations

import json
import os
import re

import pytest
from typer.testing import CliRunner

from frontdoor.cli import app
from frontdoor.settings import load_settings
from frontdoor.wiring import build_services

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
