"""Issue 11: `frontdoor case show` gives the seller's rating with its reason (text and
--json), run in-process on SQLite and PostgreSQL."""

from __future__ import annotations

import json

from frontdoor.cli import app
from frontdoor.settings import load_settings
from frontdoor.wiring import build_services
from tests.integration.test_cli import any_db, runner, seller_with_case

__all__ = ["any_db"]  # the fixture, shared with the CLI tests


def rate(number: str, level: str, code: str | None = None, words: str | None = None) -> None:
    services = build_services(load_settings())
    seller_id = services.cases.get_case(number).case.seller_id
    services.cases.change_status(number, "resolved")
    services.cases.evaluate(seller_id, number, level)
    if code:
        services.cases.give_reason(seller_id, number, code, words)


def test_show_gives_the_rating_and_its_reason(any_db: str) -> None:
    number = seller_with_case()
    rate(number, "disappointing", "other", "nobody read my screenshots")

    text = runner.invoke(app, ["case", "show", number]).output
    assert "evaluation: disappointing — Other (“nobody read my screenshots”)" in text
    detail = json.loads(runner.invoke(app, ["case", "show", number, "--json"]).output)
    assert detail["evaluation"]["reason_code"] == "other"
    assert detail["evaluation"]["reason"] == "nobody read my screenshots"


def test_show_a_rating_without_a_reason(any_db: str) -> None:
    number = seller_with_case()
    rate(number, "so_so")
    text = runner.invoke(app, ["case", "show", number]).output
    assert "evaluation: so_so\n" in text
