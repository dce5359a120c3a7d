"""Status changes (rule 10) and what the seller is told of them."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from bot import domain as d
from bot.case_rules.base import CaseServiceBase
from bot.case_rules.preferences import owner_speaking
from bot.domain import Case
from bot.errors import (
    InvalidInput,
    InvalidTransition,
)
from bot.messages import Button, Reply
from bot.ports import UnitOfWork
from bot.relay import NOTE_AUTHOR
from bot.texts import STATUS_LABELS, evaluation_label, t

# Which statuses an agent (or the system) may move a case to, from each status.
TRANSITIONS: dict[str, frozenset[str]] = {
    d.OPEN: frozenset({d.INVESTIGATING, d.PENDING, d.RESOLVED, d.CLOSED, d.DECLINED}),
    d.INVESTIGATING: frozenset({d.OPEN, d.PENDING, d.RESOLVED, d.CLOSED, d.DECLINED}),
    d.PENDING: frozenset({d.INVESTIGATING, d.RESOLVED, d.CLOSED, d.DECLINED}),
    d.RESOLVED: frozenset({d.INVESTIGATING, d.CLOSED}),
    d.CLOSED: frozenset(),  # closed cases are reopened as new linked cases, never edited
    d.DECLINED: frozenset(),  # final (rule 4)
}

class StatusRules(CaseServiceBase):
    """Moving a case between statuses, and telling the seller in their own words."""

    def change_status(
        self, number: str, new_status: str, actor_kind: str = d.AGENT,
        actor_ref: str | None = None, reason: str | None = None,
    ) -> Case:
        """Move a case to ``new_status`` if the transition is allowed; the seller is told."""
        if new_status not in d.STATUSES:
            raise InvalidInput(f"unknown status {new_status!r}; use one of {', '.join(d.STATUSES)}")
        now = self.clock.now()
        with self.uow() as uow:
            case = self._case(uow, number, lock=True)
            if case.status == new_status:
                return case
            if new_status not in TRANSITIONS[case.status]:
                hint = (" (declined is final)" if case.status == d.DECLINED else
                        " (reopen it instead)" if case.status == d.CLOSED else "")
                raise InvalidTransition(
                    f"{case.number} cannot go from {case.status} to {new_status}{hint}",
                    number=case.number,
                )
            case = self.apply_status(uow, case, new_status, actor_kind, actor_ref, reason, now)
            uow.commit()
            return case

    def apply_status(
        self, uow: UnitOfWork, case: Case, new: str, actor_kind: str, actor_ref: str | None,
        reason: str | None, now: datetime, notify_seller: bool = True,
    ) -> Case:
        """Move ``case`` (already locked) to ``new`` inside the caller's unit of work: the
        deadlines, the event, the card, the thread note and (optionally) the seller's notice.
        Transitions are not checked here; callers decide (see ``change_status``)."""
        old = case.status
        changes: dict[str, Any] = {"status": new, "status_changed_at": now, "updated_at": now}
        if actor_kind == d.SELLER or new == d.OPEN:
            # The "Updated" mark is for changes the seller has not seen: their own are seen,
            # and back to "open" looks the same to them (bot.case_rules.queries.status_unseen).
            changes["seller_seen_at"] = now
        if old == d.PENDING:
            # The first-response clock paused while the case waited for the seller.
            if case.first_response_at is None and case.first_response_due_at and case.pending_since:
                changes["first_response_due_at"] = (
                    case.first_response_due_at + (now - case.pending_since))
            changes.update(pending_since=None, reminders_sent=0)
        if new == d.PENDING:
            changes.update(
                pending_since=now,
                auto_close_at=now + timedelta(days=self.rules.pending_auto_close_days),
                reminders_sent=0,
            )
        elif new == d.RESOLVED:
            changes.update(resolved_at=now,
                           auto_close_at=now + timedelta(days=self.rules.resolved_auto_close_days),
                           resolved_by=actor_ref if actor_kind == d.AGENT else None)
        elif new == d.CLOSED:
            changes.update(closed_at=now, auto_close_at=None)
        else:
            changes["auto_close_at"] = None
        if new in (d.INVESTIGATING, d.OPEN) and old == d.RESOLVED:
            changes.update(resolved_at=None, resolved_by=None)
        case = uow.cases.update(case.id, **changes)
        uow.events.add(case.id, "status", actor_kind, actor_ref, old, new, reason, now)
        self.relay.publish_card(uow, case, now)
        self.relay.post_in_thread(
            uow, case,
            t("thread.status", old=STATUS_LABELS[old], new=STATUS_LABELS[new],
              actor=actor_ref or actor_kind, reason=f" ({reason})" if reason else ""),
            NOTE_AUTHOR, now,
        )
        if notify_seller and new != d.OPEN:
            # Back to "open" (unassigned) looks the same to the seller: nothing to tell.
            with owner_speaking(uow, case):
                self._notify_status(uow, case, new, reason, now)
        return case

    def _notify_status(self, uow: UnitOfWork, case: Case, new: str, reason: str | None,
                       now: datetime) -> None:
        if new == d.DECLINED:
            text = (t("status.declined", number=case.number, reason=reason) if reason
                    else t("status.declined_no_reason", number=case.number))
            self.relay.to_seller(uow, case, Reply(text, case_number=case.number), now)
        elif new == d.RESOLVED:
            self.relay.to_seller(uow, case, Reply(t("status.resolved", number=case.number),
                                                  case_number=case.number), now)
            if uow.evaluations.get(case.id) is None:
                self.relay.to_seller(uow, case, self.evaluation_prompt(case), now)
        else:
            self.relay.to_seller(uow, case, Reply(t(f"status.{new}", number=case.number),
                                                  case_number=case.number), now)

    @staticmethod
    def evaluation_prompt(case: Case) -> Reply:
        """The three evaluation levels as buttons (rule 6)."""
        return Reply(
            t("evaluate.ask", number=case.number),
            tuple(Button(evaluation_label(level), f"eval:{case.number}:{level}")
                  for level in d.EVALUATION_LEVELS),
            case_number=case.number,
        )

