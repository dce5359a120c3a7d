"""Opening a case (rules 1, 4, 8): one active case per issue, declined is final, a daily cap."""

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
from bot.ports import DuplicateActiveCase, UnitOfWork


class OpeningRules(CaseServiceBase):
    """Opening a case: one active case per issue, declined is final, the daily cap."""

    def check_can_open(self, seller_id: int, case_type: str | None,
                       order_id: str | None) -> Case | None:
        """Raise if a new case on this issue is refused; return an active case to add to."""
        now = self.clock.now()
        with self.uow(read_only=True) as uow:
            return self._check_can_open(uow, seller_id, case_type, order_id, now)

    def _check_can_open(self, uow: UnitOfWork, seller_id: int, case_type: str | None,
                        order_id: str | None, now: datetime) -> Case | None:
        if case_type is not None:
            declined = uow.cases.find_declined(seller_id, case_type, order_id)
            if declined is not None:
                reason = next(
                    (e.reason for e in reversed(uow.events.for_case(declined.id))
                     if e.kind == "status" and e.to_value == d.DECLINED and e.reason),
                    None,
                )
                raise DeclinedFinal(
                    f"{declined.number} on this issue was declined with no further action"
                    + (f": {reason}" if reason else ""),
                    number=declined.number, reason=reason,
                )
            active = uow.cases.find_active(seller_id, case_type, order_id)
            if active is not None:
                return active
        recent = uow.cases.count_created_since(seller_id, now - timedelta(days=1))
        if recent >= self.rules.daily_case_cap:
            raise DailyCapReached(
                f"you have opened {recent} cases in the last 24 hours; the limit is "
                f"{self.rules.daily_case_cap}. Please add to an existing case or try tomorrow.",
                limit=self.rules.daily_case_cap,
            )
        return None

    def open_case(
        self, seller_id: int, case_type: str | None, description: str,
        order_id: str | None = None, attachments: Sequence[dict[str, Any]] = (),
        identity_id: int | None = None, urgent: bool = False,
    ) -> OpenCaseResult:
        """Open a case, or return the active case on the same issue (``created`` False).

        The partial unique index makes this safe under concurrency: of simultaneous calls for
        one issue exactly one creates, the others get that case back.
        """
        if case_type is not None and case_type not in CASE_TYPES:
            raise InvalidInput(f"unknown case type {case_type!r}")
        text = self._clean(description)
        now = self.clock.now()
        with self.uow() as uow:
            seller = uow.sellers.get(seller_id)
            if seller is None:
                raise NotRegistered("only registered sellers can open cases")
            existing = self._check_can_open(uow, seller_id, case_type, order_id, now)
            if existing is not None:
                return OpenCaseResult(existing, created=False)
            try:
                case = uow.cases.add(d.NewCase(
                    seller_id=seller_id, identity_id=identity_id, case_type=case_type,
                    order_id=order_id, title=self._title(case_type, order_id, now),
                    status=d.OPEN, urgent=urgent, created_at=now,
                    first_response_due_at=self._due(now, urgent),
                ))
            except DuplicateActiveCase:
                uow.rollback()
                assert case_type is not None
                raced = uow.cases.find_active(seller_id, case_type, order_id)
                if raced is None:
                    raise
                return OpenCaseResult(raced, created=False)
            self._record_open(uow, case, seller, text, attachments, now)
            uow.commit()
            return OpenCaseResult(case, created=True)

    def _record_open(self, uow: UnitOfWork, case: Case, seller: Seller, text: str,
                     attachments: Sequence[dict[str, Any]], now: datetime) -> None:
        msg = uow.messages.add(case.id, d.SELLER, str(seller.id), seller.display_name, text,
                               attachments, False, now)
        uow.events.add(case.id, "created", d.SELLER, str(seller.id), None, d.OPEN, None, now)
        if case.urgent:
            uow.events.add(case.id, "urgent", d.SELLER, str(seller.id), "off", "on", None, now)
        self.relay.publish_card(uow, case, now)
        self.relay.thread(uow, case, text, seller.display_name, now, attachments, msg.id)

