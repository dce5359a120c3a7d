"""Every text the bot shows, in one catalogue (ready for translation).

Look texts up with ``t(key, **values)``. Keep them short and friendly.
"""

from __future__ import annotations

from typing import Any

CASE_TYPE_LABELS: dict[str, str] = {
    "account_health": "Account health / appeal",
    "account_access": "Account access",
    "registration": "Registration",
    "listing": "Listings",
    "order": "Orders",
    "payment": "Payments",
    "shipping": "Shipping",
    "inventory": "Inventory / fulfilment",
    "policy": "Policy & compliance",
    "advertising": "Advertising",
}

# What sellers see for each status (rule 10).
STATUS_LABELS: dict[str, str] = {
    "open": "In progress",
    "investigating": "In progress",
    "pending": "Waiting for you",
    "resolved": "Resolved",
    "closed": "Closed",
    "declined": "Declined",
}

EVALUATION_LABELS: dict[str, str] = {
    "like": "Worthy of a Like",
    "so_so": "So-so",
    "disappointing": "Very Disappointing",
}

CATALOGUE: dict[str, str] = {
    # Relay and status notices (sent by the case rules through the outbox)
    "agent_reply": "💬 {number}: {text}",
    "status.investigating": "🔎 {number} is being looked at by our team.",
    "status.pending": "⏳ {number} is waiting for you: please reply here with what we asked for.",
    "status.resolved": "✅ {number} is resolved. Reply here if something is still wrong.",
    "status.closed": "📁 {number} is closed. You can reopen it if you still need help.",
    "status.declined": (
        "{number} was declined: {reason}. No further action will be taken on this issue."
    ),
    "status.declined_no_reason": (
        "{number} was declined. No further action will be taken on this issue."
    ),
    "evaluate.ask": "How did we do on {number}?",
    "case_title_untyped": "Enquiry of {when}",
    # Thread notes for agents (Slack)
    "thread.seller_message": "{text}",
    "thread.status": "Status: {old} → {new} by {actor}{reason}",
    "thread.urgent_on": "🚨 Flagged urgent by {actor}",
    "thread.urgent_off": "Urgent flag removed by {actor}",
    "thread.keep_open": "Seller asked to keep the case open (until {until})",
    "thread.needs_human": "🙋 Seller asked to talk to a human",
    "thread.reopened_as": "Reopened by the seller as {number}",
    "thread.reopened_from": "Reopened from {number}",
    "thread.evaluation": "Seller evaluation: {level}{reason}",
    "thread.note": "📝 Note by {author}: {text}",
    "thread.agent_reply_cli": "Reply sent by {author}: {text}",
    "thread.blocked": (
        "⚠️ The seller's {channel} chat no longer accepts messages ({error}); replies are not "
        "delivered."
    ),
    "thread.delivery_failed": "⚠️ Not delivered to the seller: {error}",
}


def t(key: str, **values: Any) -> str:
    """The text for ``key`` with ``values`` filled in."""
    return CATALOGUE[key].format(**values)


def register(texts: dict[str, str]) -> None:
    """Add texts to the catalogue (used by engine modules that own a group of texts)."""
    clash = set(texts) & set(CATALOGUE)
    if clash:
        raise KeyError(f"text keys defined twice: {sorted(clash)}")
    CATALOGUE.update(texts)
