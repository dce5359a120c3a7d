"""Who works on a case: an agent takes it ("Assign to me", `frontdoor case assign`), and the
first response and the resolution are credited to the agents who gave them.

Credits are agent refs (a Slack user id, a CLI name): the Slack card and the digest turn a
Slack user id into a mention, so the name shown is always the agent's current one.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import datetime

from bot import domain as d
from bot.case_rules.base import CaseServiceBase
from bot.domain import Case
from bot.errors import InvalidInput, InvalidTransition
from bot.ports import UnitOfWork
from bot.relay import NOTE_AUTHOR, Relay
from bot.texts import t

#: Cases nobody can work on any more: closed ones are reopened as new cases, declined is final.
_FINAL = frozenset({d.CLOSED, d.DECLINED})
#: A Slack user id (``U…``, or ``W…`` on Enterprise Grid); other refs are names (the CLI's).
SLACK_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")


def agent_label(ref: str, name: str | None = None) -> str:
    """How an agent is named in thread notes: their name if known, else their ref."""
    return name or ref


def slack_mention(ref: str) -> str:
    """An agent for Slack mrkdwn: a Slack user id as a mention, any other ref as it is."""
    return f"<@{ref}>" if SLACK_USER_ID.match(ref) else ref


def credit_counts(refs: Iterable[str | None]) -> list[tuple[str, int]]:
    """How many times each agent is credited, most first (ties by ref); None is nobody."""
    counts = Counter(ref for ref in refs if ref)
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))


class AssignmentRules(CaseServiceBase):
    """Assigning a case to an agent (or to nobody)."""

    def assign(self, number: str, agent_ref: str | None, agent_name: str | None = None,
               actor_kind: str = d.AGENT, actor_ref: str | None = None) -> Case:
        """Assign the case to ``agent_ref`` (None: to nobody); the card shows it and the
        thread is told. Refused on closed and declined cases."""
        agent_ref = agent_ref.strip() if agent_ref else None
        if agent_ref == "":
            raise InvalidInput("the agent is empty")
        if agent_ref is not None and len(agent_ref) > 100:
            raise InvalidInput("the agent's name is over 100 characters")
        name = (agent_name or "").strip()[:200] or None
        now = self.clock.now()
        with self.uow() as uow:
            case = self._case(uow, number, lock=True)
            if case.status in _FINAL:
                raise InvalidTransition(f"{case.number} is {case.status}; nobody can take it",
                                        number=case.number)
            if case.assignee_ref == agent_ref and (agent_ref is None or
                                                   case.assignee_name == name):
                return case
            actor = actor_ref or actor_kind
            note = (t("thread.assigned", assignee=agent_label(agent_ref, name), actor=actor)
                    if agent_ref else t("thread.unassigned", actor=actor))
            case = apply_assignment(uow, self.relay, case, agent_ref, name, actor_kind,
                                    actor_ref, note, now)
            uow.commit()
            return case


def apply_assignment(uow: UnitOfWork, relay: Relay, case: Case, agent_ref: str | None,
                     agent_name: str | None, actor_kind: str, actor_ref: str | None, note: str,
                     now: datetime, mentions: Sequence[str] = ()) -> Case:
    """Give ``case`` (row-locked by the caller) to ``agent_ref`` in the caller's transaction:
    the assignee event, the card update, and ``note`` in the thread (``mentions``: Slack
    users the note notifies). Shared by "Assign to me", the CLI and round robin."""
    old = case.assignee_ref
    case = uow.cases.update(case.id, assignee_ref=agent_ref,
                            assignee_name=agent_name if agent_ref else None, updated_at=now)
    uow.events.add(case.id, "assignee", actor_kind, actor_ref, old, agent_ref, None, now)
    relay.publish_card(uow, case, now)
    relay.post_in_thread(uow, case, note, NOTE_AUTHOR, now, mentions=mentions)
    return case
