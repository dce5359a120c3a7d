"""Issue 11: the seller's rating on the agents' case card: the level, the reason's label, and
the seller's own words (escaped and shortened)."""

from __future__ import annotations

from typing import Any

from adapters.slack.cards import render_case_card

CARD: dict[str, Any] = {
    "number": "CX-000042", "title": "Payment on hold", "case_type": "payment",
    "seller_name": "Ada's Shop", "seller_id": 7, "order_id": None,
    "status": "resolved", "status_label": "Resolved", "urgent": False,
    "first_response_due": None, "reopened_from": None, "evaluation": None,
}


def evaluation_field(card: dict[str, Any]) -> str | None:
    blocks, _ = render_case_card(card)
    fields = [f["text"] for b in blocks if b["type"] == "section" for f in b.get("fields", [])]
    found = [f for f in fields if f.startswith("*Evaluation*\n")]
    assert len(found) <= 1
    return found[0].removeprefix("*Evaluation*\n") if found else None


def test_no_rating_no_field() -> None:
    assert evaluation_field(CARD) is None


def test_a_like_shows_its_label() -> None:
    assert evaluation_field({**CARD, "evaluation": "like"}) == "Worthy of a Like"


def test_a_lower_rating_shows_its_reason() -> None:
    shown = evaluation_field({**CARD, "evaluation": "so_so", "evaluation_reason": "slow_reply"})
    assert shown == "So-so — Slow reply"


def test_a_lower_rating_without_a_reason_yet() -> None:
    assert evaluation_field({**CARD, "evaluation": "disappointing",
                             "evaluation_reason": None}) == "Very Disappointing"


def test_the_sellers_words_are_escaped_and_shortened() -> None:
    words = "<!channel> the agent was rude & " + "very " * 100 + "slow"
    shown = evaluation_field({**CARD, "evaluation": "disappointing",
                              "evaluation_reason": "other", "evaluation_words": words})
    assert shown is not None
    label, quoted = shown.split("\n")
    assert label == "Very Disappointing — Other"
    assert quoted.startswith("_“&lt;!channel&gt; the agent was rude &amp; very")
    assert quoted.endswith("…”_") and len(quoted) < 360
    assert "<!channel>" not in shown


def test_a_card_from_before_the_reasons_still_renders() -> None:
    # Outbox items queued before issue 11 carry no reason keys.
    assert evaluation_field({**CARD, "evaluation": "so_so"}) == "So-so"
