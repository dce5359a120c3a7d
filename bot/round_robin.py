"""Round-robin assignment among the agents' pool: new cases, and escalation of a
case nobody answered by the first-response warning (rule 11).

The pool is a Slack user group (SLACK_AGENTS_GROUP). Who is in it, and who is away, only the
platform knows, and asking it takes the network: so the case rules queue an ``ASSIGN_NEXT``
outbox item (``Relay.request_assignment``) in the transaction that opens the case (or warns
about it), the Slack sender reads the group and the members' presence, and the delivery's
outcome (``bot.delivery_outcomes``) calls ``RoundRobin.assign_from`` in the transaction that
records it. The outbox makes that exactly once, and in the case's order: after its card.

The rotation is kept in the database, not in a process: per pool, the member given the last
case (``RotationStore``). Choosing the next member locks that row until the assignment
commits, so two ``serve`` processes assigning at the same moment take turns: the second sees
the first's choice and gives the next member, never the same one twice in a row.
"""

from __future__ import annotations

import logging
from bisect import bisect_right
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from bot import domain as d
from bot import outbox as ob
from bot.case_rules.assignment import apply_assignment
from bot.domain import Case
from bot.ports import UnitOfWork
from bot.relay import NOTE_AUTHOR, Relay
from bot.texts import t

log = logging.getLogger(__name__)

#: Why an assignment is asked for.
NEW_CASE = ob.ASSIGN_NEW_CASE
ESCALATION = ob.ASSIGN_ESCALATION
#: The actor of round-robin assignments (case events, the CLI's history).
ACTOR = "round-robin"
#: The case event that marks a case escalated: once per case.
ESCALATED_EVENT = "escalated"
_FIRST_RESPONSE_STATUSES = frozenset({d.OPEN, d.INVESTIGATING})


class RotationStore(Protocol):
    """Where the rotation lives (storage.agent_rotations.SqlAgentRotations)."""

    def last_member(self, uow: UnitOfWork, pool: str) -> str | None:
        """The member of ``pool`` given the last case, locking the pool's row until the
        caller's transaction ends (the row is created if missing)."""
        ...

    def record(self, uow: UnitOfWork, pool: str, member: str, now: datetime) -> None:
        """``member`` got the pool's latest case."""
        ...


@dataclass(frozen=True)
class Roster:
    """The pool as the platform reported it: its members, and those it says are away."""

    members: tuple[str, ...]
    away: frozenset[str] = frozenset()

    def as_extra(self) -> dict[str, Any]:
        return {"members": list(self.members), "away": sorted(self.away)}

    @classmethod
    def from_extra(cls, extra: Mapping[str, Any] | None) -> Roster:
        extra = extra or {}
        return cls(tuple(str(m) for m in extra.get("members") or ()),
                   frozenset(str(m) for m in extra.get("away") or ()))


def next_member(members: Iterable[str], away: Collection[str], last: str | None,
                exclude: Collection[str] = ()) -> str | None:
    """The member after ``last`` in a fixed order (by id), skipping the away and the
    excluded; None if nobody is left. A ``last`` who left the pool still marks the place:
    the turn goes to the member after where they stood."""
    ordered = sorted(set(members))
    start = bisect_right(ordered, last) if last else 0
    for member in ordered[start:] + ordered[:start]:
        if member not in away and member not in exclude:
            return member
    return None


class RoundRobin:
    def __init__(self, relay: Relay, store: RotationStore) -> None:
        self.relay = relay
        self.store = store

    def assign_from(self, uow: UnitOfWork, case_id: int, pool: str, reason: str,
                    roster: Roster, now: datetime) -> Case | None:
        """Assign the case to the next available member of ``pool``, in the caller's
        transaction; the case, or None when there was nothing to do (the case was taken,
        answered or closed meanwhile, or it was escalated before)."""
        case = uow.cases.get_for_update(case_id)
        if case is None or not self._still_wanted(uow, case, reason):
            return None
        escalating = reason == ESCALATION
        if escalating:
            # Once per case, even when the warning comes again (urgent on resets it).
            uow.events.add(case.id, ESCALATED_EVENT, d.SYSTEM, ACTOR, case.assignee_ref, None,
                           None, now)
        current = [case.assignee_ref] if escalating and case.assignee_ref else []
        member = next_member(roster.members, roster.away, self.store.last_member(uow, pool),
                             exclude=current)
        if member is None:
            key = "thread.escalation_nobody" if escalating else "thread.round_robin_nobody"
            self.relay.post_in_thread(uow, case, t(key, count=len(roster.members)), NOTE_AUTHOR, now)
            return None
        self.store.record(uow, pool, member, now)
        note = t("thread.escalated" if escalating else "thread.round_robin_assigned")
        return apply_assignment(uow, self.relay, case, member, None, d.SYSTEM, ACTOR, note, now,
                                mentions=[member])

    @staticmethod
    def _still_wanted(uow: UnitOfWork, case: Case, reason: str) -> bool:
        if case.status not in _FIRST_RESPONSE_STATUSES and case.status != d.PENDING:
            return False  # resolved, closed or declined meanwhile
        if reason == NEW_CASE:
            return case.assignee_ref is None  # somebody took it already
        if case.first_response_at is not None or case.status not in _FIRST_RESPONSE_STATUSES:
            return False  # answered (or waiting for the seller) since the warning
        return not any(e.kind == ESCALATED_EVENT for e in uow.events.for_case(case.id))
