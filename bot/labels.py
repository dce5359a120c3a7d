"""The fixed NLU label set (docs/design.md): case types, conversation intents and entities.

Training data, evaluation and the engine all use these names; nothing else may invent labels.
"""

from __future__ import annotations

CASE_TYPES: tuple[str, ...] = (
    "account_health",
    "account_access",
    "registration",
    "listing",
    "order",
    "payment",
    "shipping",
    "inventory",
    "policy",
    "advertising",
)

CONVERSATION_INTENTS: tuple[str, ...] = (
    "check_status",
    "reopen_case",
    "flag_urgent",
    "keep_open",
    "talk_to_human",
    "greet",
    "goodbye",
    "thank",
    "affirm",
    "deny",
    "cancel",
    "help",
    "out_of_scope",
)

ALL_INTENTS: tuple[str, ...] = CASE_TYPES + CONVERSATION_INTENTS

ENTITY_ORDER_ID = "order_id"
ENTITY_CASE_NUMBER = "case_number"

# Case types whose problems are about one order: intake asks for the order id if none was given.
ORDER_CASE_TYPES: frozenset[str] = frozenset({"order", "shipping", "payment"})
