"""An agent changes a case's type: never onto a declined issue (rule 4), nor onto the issue
of another active case (rule 1)."""

from __future__ import annotations

from bot import domain as d
from bot.case_rules.opening import OpeningRules
from bot.domain import Case
from bot.errors import DeclinedFinal, InvalidInput, InvalidTransition
from bot.labels import CASE_TYPES
from bot.ports import DuplicateActiveCase
from bot.relay import NOTE_AUTHOR
from bot.texts import CASE_TYPE_LABELS, t


class RetypingRules(OpeningRules):
    """Changing the type of a case in progress."""

    def change_type(self, number: str, case_type: str, actor_kind: str = d.AGENT,
                    actor_ref: str | None = None) -> Case:
        """Give the case ``case_type``; it keeps its order, or (without one) its subject, or
        gets one from the seller's first message."""
        if case_type not in CASE_TYPES:
            raise InvalidInput(f"unknown case type {case_type!r}; use one of "
                               f"{', '.join(CASE_TYPES)}")
        now = self.clock.now()
        with self.uow() as uow:
            case = self._case(uow, number, lock=True)
            if case.case_type == case_type:
                return case
            if case.status in (d.CLOSED, d.DECLINED):
                raise InvalidTransition(f"{case.number} is {case.status}; its type stays",
                                        number=case.number)
            subject = None
            if not case.order_id:
                first = next(iter(uow.messages.for_case(case.id, include_internal=False)), None)
                subject = case.subject or self.subject_for(case_type, None,
                                                           first.text if first else "")
            try:
                existing = self._check_can_open(uow, case.seller_id, case_type, case.order_id,
                                                now, subject, counts_for_cap=False)
            except DeclinedFinal as err:
                raise DeclinedFinal(
                    f"{case.number} cannot become {CASE_TYPE_LABELS[case_type]}: {err}",
                    **err.details) from None
            if existing is not None and existing.id != case.id:
                raise InvalidTransition(
                    f"{existing.number} is already the active case on that issue; add to it "
                    "instead", number=existing.number)
            title = self._issue_title(case_type, case.order_id, subject, case.created_at)
            try:
                updated = uow.cases.update(case.id, case_type=case_type, subject=subject,
                                           title=title, updated_at=now)
            except DuplicateActiveCase:
                uow.rollback()
                raise InvalidTransition("a case on that issue was just opened; try again",
                                        number=case.number) from None
            uow.events.add(case.id, "type", actor_kind, actor_ref, case.case_type or "",
                           case_type, None, now)
            # Another type may live in another channel: the parent moves there (its new card),
            # else the card is updated in place.
            moved = self.relay.move_parent(uow, updated, actor_kind, actor_ref, now)
            if moved is not None:
                updated = moved
            else:
                self.relay.publish_card(uow, updated, now)
            self.relay.post_in_thread(uow, updated, t("thread.type_changed",
                                              type=CASE_TYPE_LABELS[case_type],
                                              actor=actor_ref or actor_kind), NOTE_AUTHOR, now)
            uow.commit()
            return updated
