"""A seller closes their own case: withdraws one still in progress, or closes a resolved one.

The seller has confirmed in the chat before this runs (bot.dialogue.closing). The case ends
closed, like any closed case (rule 3: reopening gives a new linked number); the thread is told
who closed it and in which words, so agents stop working on it.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot import domain as d
from bot.case_rules.status import StatusRules
from bot.domain import Case
from bot.errors import DeclinedFinal, InvalidTransition
from bot.relay import NOTE_AUTHOR
from bot.texts import t

# Statuses in which closing means withdrawing: the team has not finished with the case.
WITHDRAWABLE: tuple[str, ...] = (d.OPEN, d.INVESTIGATING, d.PENDING)
SELLER_CLOSABLE: tuple[str, ...] = (*WITHDRAWABLE, d.RESOLVED)


@dataclass(frozen=True)
class SellerClosed:
    """The closed case, and whether it was withdrawn (still in progress when closed)."""

    case: Case
    withdrawn: bool


class WithdrawalRules(StatusRules):
    """The seller's own "close it": a status change made by the seller, told to the thread."""

    def close_by_seller(self, seller_id: int, number: str, words: str = "") -> SellerClosed:
        """Close ``number`` for its seller. ``words``: what the seller wrote when asking
        (kept in the case and quoted in the thread), or "" when they pressed a button."""
        words = self._clean(words) if words else ""
        now = self.clock.now()
        with self.uow() as uow:
            case = self._owned(uow, seller_id, number, lock=True)
            if case.status == d.DECLINED:
                raise DeclinedFinal(f"{case.number} was declined with no further action",
                                    number=case.number)
            if case.status not in SELLER_CLOSABLE:
                raise InvalidTransition(f"{case.number} is already {case.status}",
                                        number=case.number)
            withdrawn = case.status in WITHDRAWABLE
            reason = "withdrawn by the seller" if withdrawn else "closed by the seller"
            if words:
                seller = uow.sellers.get(seller_id)
                uow.messages.add(case.id, d.SELLER, str(seller_id),
                                 seller.display_name if seller else None, words, (), False, now)
            case = self.apply_status(uow, case, d.CLOSED, d.SELLER, str(seller_id), reason,
                                     now, notify_seller=False)
            uow.events.add(case.id, "withdrawn" if withdrawn else "seller_closed", d.SELLER,
                           str(seller_id), None, d.CLOSED, words or None, now)
            key = "thread.seller_withdrew_case" if withdrawn else "thread.seller_closed"
            said = t("thread.seller_words", text=words) if words else ""
            self.relay.post_in_thread(uow, case, t(key, words=said), NOTE_AUTHOR, now)
            uow.commit()
            return SellerClosed(case, withdrawn)
