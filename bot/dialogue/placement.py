"""Which case a message continues, when it names none: the decision, apart from the work.

Given the cases the conversation is about (bot.dialogue.context: an agent's last message,
the ongoing case) and what the message itself says (its case type, its order id):

- the same issue, or nothing that says otherwise: add it to that case;
- a clearly different issue (another order, or a type unrelated to the case's): intake, whose
  duplicate check finds any case that already covers it;
- unclear (a related type, an untyped case, a new type while an agent waits for an answer):
  ask with buttons.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bot.dialogue.context import Candidate
from bot.labels import ORDER_CASE_TYPES

ADD, INTAKE, ASK = "add", "intake", "ask"

# Types one problem often spans: a message of one, in a case of the other, may well be the
# same issue ("the buyer says the box was empty" in a shipping case).
RELATED_TYPES: frozenset[frozenset[str]] = frozenset(frozenset(pair) for pair in (
    ("order", "shipping"), ("order", "payment"), ("order", "inventory"),
    ("shipping", "inventory"), ("listing", "inventory"), ("listing", "policy"),
    ("listing", "advertising"), ("account_health", "policy"), ("account_health", "listing"),
    ("account_access", "registration"),
))


@dataclass(frozen=True)
class Placement:
    kind: str  # ADD | INTAKE | ASK
    number: str | None = None  # ADD: the case; ASK: the case offered
    case_type: str | None = None  # INTAKE / ASK: the message's type (None: ask it)
    order_id: str | None = None


def related(a: str, b: str) -> bool:
    return frozenset((a, b)) in RELATED_TYPES


def _best(candidates: Sequence[Candidate], case_type: str | None,
          order_id: str | None) -> Candidate:
    """The candidate the message fits best: its order, else its type, else the newest."""
    if order_id:
        same_order = [c for c in candidates if c.case.order_id == order_id]
        if same_order:
            return same_order[0]
    if case_type:
        same_type = [c for c in candidates if c.case.case_type == case_type]
        if same_type:
            return same_type[0]
    return candidates[0]


def place(candidates: Sequence[Candidate], case_type: str | None,
          order_id: str | None) -> Placement:
    """Where a message with ``case_type`` and ``order_id`` (either may be None) goes, given
    the cases it may continue (at least one, the likeliest first)."""
    best = _best(candidates, case_type, order_id)
    case = best.case
    if order_id and case.order_id and order_id != case.order_id:
        # Another order is another issue (rule 1 is per order): intake checks for its case.
        return Placement(INTAKE, case_type=case_type or case.case_type, order_id=order_id)
    if order_id and not case.order_id and case.case_type not in ORDER_CASE_TYPES:
        return Placement(ASK, case.number, case_type, order_id)
    if case_type and case_type != case.case_type:
        if case.case_type is None or best.answer_expected or related(case_type, case.case_type):
            return Placement(ASK, case.number, case_type, order_id)
        return Placement(INTAKE, case_type=case_type, order_id=order_id)
    return Placement(ADD, case.number)
