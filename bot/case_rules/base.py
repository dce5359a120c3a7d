"""What every group of case rules shares: the thresholds, the unit of work, the relay and
the clock, and the look-ups and clean-ups they all use."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot import domain as d
from bot.clock import Clock, SystemClock
from bot.domain import Case
from bot.errors import (
    CaseNotFound,
    InvalidInput,
    NotYourCase,
)
from bot.ports import UnitOfWork, UnitOfWorkFactory
from bot.relay import NOTE_AUTHOR, Relay
from bot.texts import CASE_TYPE_LABELS, t


@dataclass(frozen=True)
class CaseRules:
    """Thresholds of the rules; all configurable."""

    daily_case_cap: int = 5
    keep_open_max: int = 2
    keep_open_days: int = 7
    pending_auto_close_days: int = 7
    resolved_auto_close_days: int = 7
    first_response_hours: int = 24
    first_response_urgent_hours: int = 4
    evaluation_days: int = 4
    invitation_days: int = 14
    max_text_chars: int = 4000
    reopen_days: int = 30
    # Email notifications can be set up (FRONTDOOR_SMTP_URL): else /email says they are off.
    email_notifications: bool = True


STATUS_FILTERS: dict[str, tuple[str, ...] | None] = {
    "in_progress": d.ACTIVE_STATUSES,
    "active": d.ACTIVE_STATUSES,
    "closed": (d.CLOSED, d.DECLINED),
    "all": None,
}


class CaseServiceBase:
    """The state every group of rules works with; `bot.cases.CaseService` combines them."""

    """The rules. One method, one transaction."""

    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        relay: Relay | None = None,
        rules: CaseRules | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.uow = uow_factory
        self.relay = relay or Relay()
        self.rules = rules or CaseRules()
        self.clock = clock or SystemClock()


    # Helpers -------------------------------------------------------------------------------
    def _clean(self, text: str) -> str:
        # Keep newlines and tabs; drop other control characters that break platforms.
        cleaned = "".join(ch for ch in text if ch in "\n\t" or ch >= " " or ord(ch) > 127)
        cleaned = cleaned.replace("\x7f", "").strip()
        if len(cleaned) > self.rules.max_text_chars:
            raise InvalidInput(
                f"the message is {len(cleaned)} characters long; the limit is "
                f"{self.rules.max_text_chars}",
                length=len(cleaned), limit=self.rules.max_text_chars,
            )
        return cleaned

    @staticmethod
    def _case(uow: UnitOfWork, number: str, lock: bool = False) -> Case:
        case = uow.cases.get_by_number(number.strip().upper(), lock=lock)
        if case is None:
            raise CaseNotFound(f"there is no case {number}", number=number)
        return case

    def _owned(self, uow: UnitOfWork, seller_id: int, number: str, lock: bool = False) -> Case:
        case = self._case(uow, number, lock)
        if case.seller_id != seller_id:
            # Main and sub-accounts are separate sellers: neither sees the other's cases.
            raise NotYourCase(f"{case.number} is not one of your cases", number=case.number)
        return case

    def _flag_for_human(self, uow: UnitOfWork, case: Case, seller_id: int,
                        now: datetime) -> Case:
        """The seller asked for a person: flag ``case`` for agents, with its event, the card
        updated and a note in the thread."""
        case = uow.cases.update(case.id, needs_human=True, updated_at=now)
        uow.events.add(case.id, "needs_human", d.SELLER, str(seller_id), "off", "on", None, now)
        self.relay.publish_card(uow, case, now)
        self.relay.post_in_thread(uow, case, t("thread.needs_human"), NOTE_AUTHOR, now)
        return case

    def _keep_reason(self, uow: UnitOfWork, case: Case, seller_id: int, reason: str,
                     files: Sequence[dict[str, Any]], now: datetime) -> None:
        """Words a seller typed around an action ("urgent, I need the money to pay my
        supplier") go into the case for the agents, in the action's own unit of work, so a
        refused action keeps no reason either. They explain the action; they are not the
        answer the case may be waiting for, so its status stays."""
        if not reason and not files:
            return
        seller = uow.sellers.get(seller_id)
        assert seller is not None
        msg = uow.messages.add(case.id, d.SELLER, str(seller_id), seller.display_name, reason,
                               files, False, now)
        self.relay.post_in_thread(uow, case, reason, seller.display_name, now, files, msg.id)

    def _due(self, created: datetime, urgent: bool) -> datetime:
        hours = self.rules.first_response_urgent_hours if urgent else self.rules.first_response_hours
        return created + timedelta(hours=hours)

    def _title(self, case_type: str | None, order_id: str | None, now: datetime) -> str:
        if case_type is None:
            return t("case_title_untyped", when=now.strftime("%Y-%m-%d %H:%M UTC"))
        label = CASE_TYPE_LABELS[case_type]
        return f"{label} · {order_id}" if order_id else label

