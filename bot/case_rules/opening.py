"""Opening a case (rules 1, 4, 8): one active case per issue, declined is final, a daily cap.

An issue is the seller, the case type and the order; for a type without an order, the
subject (bot.subjects) takes the order's place, so two suppressed listings are two issues and
a declined one blocks only itself. A case without a type ("Something else") is no issue of
its own, but one that names the order of a declined case is refused all the same.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from bot import domain as d
from bot.case_rules.base import CaseServiceBase
from bot.case_rules.results import OpenCaseResult
from bot.domain import Case, Seller
from bot.errors import (
    DailyCapReached,
    DeclinedFinal,
    InvalidInput,
    NotRegistered,
)
from bot.labels import CASE_TYPES
from bot.outbox import ASSIGN_NEW_CASE
from bot.ports import DuplicateActiveCase, UnitOfWork
from bot.relay import NOTE_AUTHOR
from bot.subjects import label_of, same_subject, subject_of
from bot.texts import t


class OpeningRules(CaseServiceBase):
    """Opening a case: one active case per issue, declined is final, the daily cap."""

    def subject_for(self, case_type: str | None, order_id: str | None, text: str) -> str | None:
        """The subject key a case of this type would get from ``text`` (None: it needs none,
        or the text names nothing that tells an issue apart)."""
        if case_type is None or order_id:
            return None
        found = subject_of(text)
        return found.key if found else None

    def check_can_open(self, seller_id: int, case_type: str | None,
                       order_id: str | None, subject: str | None = None) -> Case | None:
        """Raise if a new case on this issue is refused; return an active case to add to."""
        now = self.clock.now()
        with self.uow(read_only=True) as uow:
            return self._check_can_open(uow, seller_id, case_type, order_id, now, subject)

    def other_active_of_type(self, seller_id: int, case_type: str,
                             subject: str | None) -> list[Case]:
        """Active cases of a type without an order on other subjects: the seller sees them
        and chooses before a second one is opened."""
        with self.uow(read_only=True) as uow:
            return [c for c in uow.cases.same_type(seller_id, case_type, None, d.ACTIVE_STATUSES)
                    if not same_subject(c.subject, subject)]

    def _check_can_open(self, uow: UnitOfWork, seller_id: int, case_type: str | None,
                        order_id: str | None, now: datetime, subject: str | None = None,
                        counts_for_cap: bool = True) -> Case | None:
        if case_type is None:
            if order_id:
                declined = uow.cases.find_declined_with_order(seller_id, order_id)
                if declined is not None:
                    raise self._declined(uow, declined)
        elif order_id:
            declined = uow.cases.find_declined(seller_id, case_type, order_id)
            if declined is not None:
                raise self._declined(uow, declined)
            active = uow.cases.find_active(seller_id, case_type, order_id)
            if active is not None:
                return active
        else:
            for declined in uow.cases.same_type(seller_id, case_type, None, (d.DECLINED,)):
                if same_subject(declined.subject, subject):
                    raise self._declined(uow, declined)
            exact = uow.cases.find_active(seller_id, case_type, None, subject)
            if exact is not None:
                return exact
            for active in uow.cases.same_type(seller_id, case_type, None, d.ACTIVE_STATUSES):
                if same_subject(active.subject, subject):
                    return active
        if counts_for_cap:
            recent = uow.cases.count_created_since(seller_id, now - timedelta(days=1))
            if recent >= self.rules.daily_case_cap:
                raise DailyCapReached(
                    f"you have opened {recent} cases in the last 24 hours; the limit is "
                    f"{self.rules.daily_case_cap}. Please add to an existing case or try "
                    "tomorrow.",
                    limit=self.rules.daily_case_cap,
                )
        return None

    @staticmethod
    def _declined(uow: UnitOfWork, declined: Case) -> DeclinedFinal:
        reason = next(
            (e.reason for e in reversed(uow.events.for_case(declined.id))
             if e.kind == "status" and e.to_value == d.DECLINED and e.reason),
            None,
        )
        return DeclinedFinal(
            f"{declined.number} on this issue was declined with no further action"
            + (f": {reason}" if reason else ""),
            number=declined.number, reason=reason,
        )

    def open_case(
        self, seller_id: int, case_type: str | None, description: str,
        order_id: str | None = None, attachments: Sequence[dict[str, Any]] = (),
        identity_id: int | None = None, urgent: bool = False, subject: str | None = None,
        follows: str | None = None, needs_human: bool = False,
    ) -> OpenCaseResult:
        """Open a case, or return the active case on the same issue (``created`` False).

        A type without an order gets its subject from ``subject`` (the seller's own words for
        it) or else from the description. ``follows``: the number of an old case of this
        seller's that the new one continues (too old to reopen); both get a link event.
        ``needs_human``: the seller asked for a person while describing it; a new case is
        flagged for agents in the same transaction that opens it (an existing one is returned
        as it is: ``request_human`` flags it).

        The partial unique index makes this safe under concurrency: of simultaneous calls for
        one issue exactly one creates, the others get that case back.
        """
        if case_type is not None and case_type not in CASE_TYPES:
            raise InvalidInput(f"unknown case type {case_type!r}")
        text = self._clean(description)
        order_id = order_id or None
        if case_type is None or order_id:
            subject = None
        elif subject is None:
            subject = self.subject_for(case_type, order_id, text)
        now = self.clock.now()
        with self.uow() as uow:
            seller = uow.sellers.get(seller_id)
            if seller is None:
                raise NotRegistered("only registered sellers can open cases")
            earlier = self._owned(uow, seller_id, follows) if follows else None
            existing = self._check_can_open(uow, seller_id, case_type, order_id, now, subject)
            if existing is not None:
                return OpenCaseResult(existing, created=False)
            try:
                case = uow.cases.add(d.NewCase(
                    seller_id=seller_id, identity_id=identity_id, case_type=case_type,
                    order_id=order_id, title=self._issue_title(case_type, order_id, subject, now),
                    status=d.OPEN, urgent=urgent, created_at=now,
                    first_response_due_at=self._due(now, urgent), subject=subject,
                ))
            except DuplicateActiveCase:
                uow.rollback()
                assert case_type is not None
                raced = uow.cases.find_active(seller_id, case_type, order_id, subject)
                if raced is None:
                    raise
                return OpenCaseResult(raced, created=False)
            if needs_human:
                case = uow.cases.update(case.id, needs_human=True)
            self._record_open(uow, case, seller, text, attachments, now)
            if earlier is not None:
                self._link_follow_up(uow, earlier, case, seller, now)
            uow.commit()
            return OpenCaseResult(case, created=True)

    def _issue_title(self, case_type: str | None, order_id: str | None, subject: str | None,
                     now: datetime) -> str:
        title = self._title(case_type, order_id, now)
        return f"{title} · {label_of(subject)}"[:200] if subject else title

    def _link_follow_up(self, uow: UnitOfWork, earlier: Case, case: Case, seller: Seller,
                        now: datetime) -> None:
        actor = str(seller.id)
        uow.events.add(case.id, "follows", d.SELLER, actor, earlier.number, case.number, None,
                       now)
        uow.events.add(earlier.id, "followed_by", d.SELLER, actor, earlier.number, case.number,
                       None, now)
        self.relay.post_in_thread(uow, case, t("thread.follows", number=earlier.number), NOTE_AUTHOR, now)
        self.relay.post_in_thread(uow, earlier, t("thread.followed_by", number=case.number),
                                  NOTE_AUTHOR, now)

    def _record_open(self, uow: UnitOfWork, case: Case, seller: Seller, text: str,
                     attachments: Sequence[dict[str, Any]], now: datetime) -> None:
        msg = uow.messages.add(case.id, d.SELLER, str(seller.id), seller.display_name, text,
                               attachments, False, now)
        uow.events.add(case.id, "created", d.SELLER, str(seller.id), None, d.OPEN, None, now)
        if case.urgent:
            uow.events.add(case.id, "urgent", d.SELLER, str(seller.id), "off", "on", None, now)
        if case.needs_human:
            uow.events.add(case.id, "needs_human", d.SELLER, str(seller.id), "off", "on", None,
                           now)
        self.relay.publish_card(uow, case, now)
        self.relay.post_in_thread(uow, case, text, seller.display_name, now, attachments, msg.id)
        if case.needs_human:
            self.relay.post_in_thread(uow, case, t("thread.needs_human"), NOTE_AUTHOR, now)
        self.relay.request_assignment(uow, case, ASSIGN_NEW_CASE, now)  # round robin, if set
