"""Case cards, thread posts and seller DMs as Block Kit; button actions parsed back."""

from __future__ import annotations

from typing import Any

import pytest

from adapters.slack.cards import (
    CASE_ACTION_PATTERN,
    attachment_line,
    escape,
    parse_action,
    render_case_card,
    reply_blocks,
    thread_post_text,
)
from bot.messages import Attachment, Button, Reply

CARD: dict[str, Any] = {
    "number": "CX-000042", "title": "Payment on hold", "case_type": "payment",
    "seller_name": "Ada's <Shop> & Co", "seller_id": 7, "order_id": "240518K7QW93XZ",
    "status": "open", "status_label": "In progress", "urgent": False,
    "first_response_due": "2030-01-02T03:04:05+00:00", "reopened_from": None,
    "evaluation": None,
}


def buttons_of(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for b in blocks if b["type"] == "actions" for e in b["elements"]
            if e["type"] == "button"]


def fields_text(blocks: list[dict[str, Any]]) -> str:
    return "\n".join(f["text"] for b in blocks if b["type"] == "section"
                     for f in b.get("fields", []))


def test_card_facts() -> None:
    blocks, text = render_case_card(CARD)

    assert blocks[0] == {"type": "header",
                         "text": {"type": "plain_text", "text": "CX-000042 · Payment on hold",
                                  "emoji": True}}
    facts = fields_text(blocks)
    assert "*Type*\nPayments" in facts
    assert "*Status*\nIn progress (`open`)" in facts
    assert "Ada's &lt;Shop&gt; &amp; Co (#7)" in facts  # seller text cannot inject mrkdwn
    assert "*Order*\n240518K7QW93XZ" in facts
    assert "*Urgent*\nNo" in facts
    assert "<!date^1893553445^{date_short_pretty} {time}|2030-01-02 03:04 UTC>" in facts
    assert text == "CX-000042 [In progress] Payment on hold — Ada's &lt;Shop&gt; &amp; Co"


def test_card_shows_the_language_the_seller_is_answered_in() -> None:
    blocks, _ = render_case_card({**CARD, "seller_language": "Chinese (Simplified)"})
    assert "Ada's &lt;Shop&gt; &amp; Co (#7) · 🌐 Chinese (Simplified)" in fields_text(blocks)
    blocks, _ = render_case_card(CARD)  # not known yet: nothing said
    assert "🌐" not in fields_text(blocks)


def test_card_buttons_carry_the_case_number() -> None:
    blocks, _ = render_case_card(CARD)

    buttons = buttons_of(blocks)

    assert [(b["text"]["text"], b["action_id"]) for b in buttons] == [
        ("Investigating", "case_status:investigating"),
        ("Need info from seller", "case_status:pending"),
        ("Resolve", "case_status:resolved"),
        ("Close", "case_status:closed"),
        ("Decline: no further action", "case_status:declined"),
        ("Assign to me", "case_assign:me"),
        ("Urgent on", "case_urgent:on"),
    ]
    assert {b["value"] for b in buttons} == {"CX-000042"}
    assert "confirm" in buttons[3]  # closing cannot be undone: Slack asks first
    assert "confirm" in buttons[4]  # declining is final: Slack asks first
    assert all(CASE_ACTION_PATTERN.match(b["action_id"]) for b in buttons)


def test_card_of_an_urgent_case_under_investigation() -> None:
    card = {**CARD, "status": "investigating", "urgent": True, "reopened_from": "CX-000040"}

    blocks, text = render_case_card(card)

    action_ids = [b["action_id"] for b in buttons_of(blocks)]
    assert "case_status:investigating" not in action_ids  # already there
    assert action_ids[-1] == "case_urgent:off"
    assert blocks[0]["text"]["text"].startswith("🚨 CX-000042")
    assert "*Reopened from*\nCX-000040" in fields_text(blocks)
    assert text.endswith("— URGENT")


@pytest.mark.parametrize("status", ["declined", "closed"])
def test_final_cases_have_no_buttons(status: str) -> None:
    blocks, _ = render_case_card({**CARD, "status": status, "evaluation": "so_so"})
    assert buttons_of(blocks) == []
    assert "*Evaluation*\nSo-so" in fields_text(blocks)


def test_card_without_title_type_or_deadline() -> None:
    card = {**CARD, "title": "", "case_type": None, "order_id": None,
            "first_response_due": None}
    blocks, _ = render_case_card(card)
    assert blocks[0]["text"]["text"] == "CX-000042"
    facts = fields_text(blocks)
    assert "*Type*\nUntyped" in facts and "*Order*\n—" in facts
    assert "*First response due*\n—" in facts


def test_every_card_button_parses_back() -> None:
    blocks, _ = render_case_card(CARD)
    parsed = [parse_action(b["action_id"], b["value"]) for b in buttons_of(blocks)]
    assert parsed == [
        ("CX-000042", "status", "investigating"),
        ("CX-000042", "status", "pending"),
        ("CX-000042", "status", "resolved"),
        ("CX-000042", "status", "closed"),
        ("CX-000042", "status", "declined"),
        ("CX-000042", "assign", "me"),
        ("CX-000042", "urgent", "on"),
    ]
    assert parse_action("case_urgent:off", "CX-1") == ("CX-1", "urgent", "off")


@pytest.mark.parametrize(("action_id", "value"), [
    ("case_status:reopened", "CX-1"), ("case_urgent:maybe", "CX-1"), ("seller_button", "x"),
    ("case_assign:someone", "CX-1"), ("case_assign:me", ""),
    ("case_status:resolved", ""),
])
def test_parse_action_refuses_anything_else(action_id: str, value: str) -> None:
    with pytest.raises(ValueError):
        parse_action(action_id, value)


def test_thread_post_with_attachments() -> None:
    files = [Attachment("photo", "AgAC1", None, "image/jpeg", 2048).as_dict(),
             Attachment("document", "BQAC2", "invoice.pdf", "application/pdf", 3 * 1024 * 1024,
                        url="https://files.example/invoice.pdf")]

    text = thread_post_text("see <attached>", "Ada", files)

    assert text.splitlines() == [
        "*Ada*: see &lt;attached&gt;",
        "📎 photo (2.0 KB, image/jpeg) · file_id `AgAC1`",
        "📎 document <https://files.example/invoice.pdf|invoice.pdf> (3.0 MB, application/pdf)"
        " · file_id `BQAC2`",
    ]


def test_attachment_without_details() -> None:
    assert attachment_line(Attachment("voice", "v1")) == "📎 voice · file_id `v1`"


def test_seller_reply_blocks_use_one_actions_block_per_button() -> None:
    blocks = reply_blocks(Reply("Pick <one>", (Button("Yes", "kb:yes"), Button("No", "kb:no"))))

    assert blocks[0]["text"]["text"] == "Pick &lt;one&gt;"
    actions = [b for b in blocks if b["type"] == "actions"]
    assert len(actions) == 2  # Slack wants action_ids unique within a block
    assert [(a["elements"][0]["action_id"], a["elements"][0]["value"]) for a in actions] == [
        ("seller_button", "kb:yes"), ("seller_button", "kb:no")]


def test_escape() -> None:
    assert escape("<!channel> & <@U1>") == "&lt;!channel&gt; &amp; &lt;@U1&gt;"
