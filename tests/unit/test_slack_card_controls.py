"""The case card offers exactly the moves the rules allow (issue 12): a status button for each
transition in TRANSITIONS from the case's status, Assign to me and the urgent toggle while the
case can still be worked on; the assignee and the agents credited are on the card."""

from __future__ import annotations

from typing import Any

import pytest

from adapters.slack.cards import (
    CASE_ACTION_PATTERN,
    action_value,
    parse_action,
    render_case_card,
    render_moved_card,
)
from bot import domain as d
from bot.case_rules.status import TRANSITIONS
from bot.labels import CASE_TYPES
from tests.unit.test_slack_cards import CARD, buttons_of, fields_text


def status_moves(card: dict[str, Any]) -> set[str]:
    blocks, _ = render_case_card(card)
    return {arg for _, kind, arg in (parse_action(b["action_id"], b["value"])
                                     for b in buttons_of(blocks)) if kind == "status"}


@pytest.mark.parametrize("status", d.STATUSES)
def test_status_buttons_are_the_allowed_transitions(status: str) -> None:
    moves = status_moves({**CARD, "status": status})
    # "open" (back to unassigned) is left to the CLI; every other allowed move is a button.
    assert moves == set(TRANSITIONS[status]) - {d.OPEN}
    assert status not in moves


def test_a_resolved_case_offers_nothing_the_rules_refuse() -> None:
    blocks, _ = render_case_card({**CARD, "status": "resolved", "resolved_by": "U0AGENT01"})

    buttons = buttons_of(blocks)
    assert [b["action_id"] for b in buttons] == [
        "case_status:investigating", "case_status:closed", "case_assign:me", "case_urgent:on"]
    assert "*Resolved by*\n<@U0AGENT01>" in fields_text(blocks)


def test_close_asks_first() -> None:
    blocks, _ = render_case_card({**CARD, "status": "pending"})
    close = next(b for b in buttons_of(blocks) if b["action_id"] == "case_status:closed")
    assert close["text"]["text"] == "Close"
    assert "new linked case" in close["confirm"]["text"]["text"]


def test_unassigned_card() -> None:
    facts = fields_text(render_case_card(CARD)[0])
    assert "*Assignee*\nUnassigned" in facts
    assert "First response by" not in facts and "Resolved by" not in facts


def test_assignee_and_credits_on_the_card() -> None:
    card = {**CARD, "status": "investigating", "assignee_ref": "U0AGENT02",
            "assignee_name": "grace", "first_response_by": "ada <cli>"}

    facts = fields_text(render_case_card(card)[0])

    # A Slack user id is a mention (Slack shows the current name); a CLI name is escaped text.
    assert "*Assignee*\n<@U0AGENT02>" in facts
    assert "*First response by*\nada &lt;cli&gt;" in facts


def test_an_assignee_who_is_not_a_slack_user_shows_by_name() -> None:
    card = {**CARD, "assignee_ref": "ada", "assignee_name": "Ada L."}
    assert "*Assignee*\nAda L." in fields_text(render_case_card(card)[0])


def test_urgent_toggle_follows_the_flag() -> None:
    on = buttons_of(render_case_card({**CARD, "urgent": True})[0])[-1]
    off = buttons_of(render_case_card(CARD)[0])[-1]
    assert (on["action_id"], on["text"]["text"]) == ("case_urgent:off", "Urgent off")
    assert (off["action_id"], off["text"]["text"]) == ("case_urgent:on", "Urgent on")


def type_menu(blocks: list[dict[str, Any]]) -> dict[str, Any]:
    [menu] = [e for b in blocks if b["type"] == "actions" for e in b["elements"]
              if e["type"] == "static_select"]
    return menu


def test_the_type_menu_offers_the_other_types_and_parses_back() -> None:
    blocks, _ = render_case_card(CARD)  # a payment case

    menu = type_menu(blocks)
    values = [o["value"] for o in menu["options"]]
    assert len(values) == len(CASE_TYPES) - 1 and "CX-000042|payment" not in values
    chosen = {"action_id": menu["action_id"], "selected_option": menu["options"][0]}
    assert CASE_ACTION_PATTERN.match(menu["action_id"])
    assert parse_action(menu["action_id"], action_value(chosen)) == (
        "CX-000042", "type", values[0].split("|")[1])
    with pytest.raises(ValueError):
        parse_action(menu["action_id"], "CX-000042|not_a_type")
    closed, _ = render_case_card({**CARD, "status": "closed"})
    assert not [b for b in closed if b["type"] == "actions"]


def test_a_moved_case_links_its_earlier_thread_and_its_old_parent_says_where() -> None:
    link = "https://acme.slack.com/archives/C0OLD/p1700000000000100"
    blocks, _ = render_case_card({**CARD, "moved_from_link": link})
    assert f"*Moved from*\n<{link}|its earlier thread>" in fields_text(blocks)

    new = "https://acme.slack.com/archives/C0NEW/p1700000000000200"
    old_blocks, text = render_moved_card({**CARD, "case_type_label": "Payments"}, "C0NEW", new)
    shown = str(old_blocks)
    assert "<#C0NEW>" in shown and new in shown and "*Payments*" in shown
    assert not [b for b in old_blocks if b["type"] == "actions"] and "moved" in text
    without_link, _ = render_moved_card(CARD, "C0NEW", None)  # the new parent never posted
    assert "<#C0NEW>" in str(without_link) and "http" not in str(without_link)


def test_a_card_with_every_fact_splits_them_over_sections_of_ten() -> None:
    card = {**CARD, "assignee_ref": "U0AGENT01", "first_response_by": "U0AGENT01",
            "resolved_by": "U0AGENT02", "reopened_from": "CX-000040", "evaluation": "so_so",
            "moved_from_link": "https://acme.slack.com/archives/C0OLD/p1"}

    blocks, _ = render_case_card(card)

    sections = [b for b in blocks if b["type"] == "section"]
    assert all(len(s["fields"]) <= 10 for s in sections) and len(sections) == 2
    assert "*Moved from*" in fields_text(blocks) and "*Evaluation*" in fields_text(blocks)
