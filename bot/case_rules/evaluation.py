"""Evaluating a resolved case (rule 6): a level, and for the two lower ones a reason.

The rating is recorded the moment the seller gives it; the reason follows as a second step
(a code from the seeds' list, with the seller's words for "other"), so a seller who skips the
reason, or simply walks away, keeps their rating.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from bot import domain as d
from bot import i18n
from bot.case_rules.base import CaseServiceBase
from bot.domain import Case, Evaluation
from bot.errors import (
    EvaluationRefused,
    InvalidInput,
)
from bot.ports import UnitOfWork
from bot.relay import NOTE_AUTHOR
from bot.texts import EVALUATION_LABELS, t

# A reason may still follow a rating given just before the window closed.
REASON_GRACE = timedelta(hours=24)


def reason_label(code: str) -> str:
    """The seller-facing words for a reason code ("slow_reply" -> "Slow reply")."""
    return t(f"eval.reason.{code}")


def reason_text(ev: Evaluation) -> str:
    """The reason as one phrase: its label, and the seller's words when there are any."""
    if ev.reason_code is None:
        return ev.reason or ""
    label = reason_label(ev.reason_code)
    return t("eval.reason_with_words", label=label, words=ev.reason) if ev.reason else label


class EvaluationRules(CaseServiceBase):
    def evaluate(self, seller_id: int, number: str, level: str, reason: str | None = None,
                 reason_code: str | None = None) -> Evaluation:
        """Rate the resolution: once per case, within the window after resolution (rule 6).

        A lower rating may come without a reason (``give_reason`` adds it later); words
        without a code are filed as "other"."""
        if level not in d.EVALUATION_LEVELS:
            raise InvalidInput(f"unknown evaluation {level!r}")
        words = self._clean(reason) if reason and reason.strip() else None
        code = self._reason_code(level, reason_code, words)
        now = self.clock.now()
        with self.uow() as uow:
            case = self._owned(uow, seller_id, number, lock=True)
            if case.resolved_at is None or case.status not in (d.RESOLVED, d.CLOSED):
                raise EvaluationRefused(f"{case.number} has not been resolved yet")
            if now > case.resolved_at + timedelta(days=self.rules.evaluation_days):
                raise EvaluationRefused(
                    f"the evaluation of {case.number} closed {self.rules.evaluation_days} days "
                    "after it was resolved"
                )
            if uow.evaluations.get(case.id) is not None:
                raise EvaluationRefused(f"{case.number} has already been evaluated")
            ev = uow.evaluations.add(case.id, level, words, now, code)
            uow.events.add(case.id, "evaluation", d.SELLER, str(seller_id), None, level,
                           ev.reason, now)
            with i18n.speaking_to_agents():
                reason_part = f" — {reason_text(ev)}" if code else ""
            self.relay.post_in_thread(uow, case, t("thread.evaluation", level=EVALUATION_LABELS[level],
                                           reason=reason_part), NOTE_AUTHOR, now)
            self.relay.publish_card(uow, case, now)
            uow.commit()
            return ev

    def give_reason(self, seller_id: int, number: str, reason_code: str,
                    reason: str | None = None) -> Evaluation:
        """Add the reason to a lower rating given without one (once)."""
        if reason_code not in d.EVALUATION_REASONS:
            raise InvalidInput(f"unknown reason {reason_code!r}")
        words = self._clean(reason) if reason and reason.strip() else None
        if reason_code == d.REASON_OTHER and words is None:
            raise InvalidInput("please tell us in a few words", needs_words=True)
        now = self.clock.now()
        with self.uow() as uow:
            case = self._owned(uow, seller_id, number, lock=True)
            ev = uow.evaluations.get(case.id)
            if ev is None:
                raise EvaluationRefused(f"{case.number} has not been rated")
            if ev.level not in d.LEVELS_NEEDING_REASON or ev.reason_code is not None:
                raise EvaluationRefused(f"the rating of {case.number} already has its reason",
                                        number=case.number)
            if now > self._reason_deadline(case, ev):
                raise EvaluationRefused(f"the evaluation of {case.number} is closed",
                                        number=case.number)
            ev = uow.evaluations.set_reason(case.id, reason_code, words)
            uow.events.add(case.id, "evaluation_reason", d.SELLER, str(seller_id), None,
                           reason_code, words, now)
            self._tell_agents(uow, case, ev, now)
            uow.commit()
            return ev

    # Helpers -------------------------------------------------------------------------------
    @staticmethod
    def _reason_code(level: str, code: str | None, words: str | None) -> str | None:
        if code is not None and code not in d.EVALUATION_REASONS:
            raise InvalidInput(f"unknown reason {code!r}")
        if level not in d.LEVELS_NEEDING_REASON:
            if code is not None:
                raise InvalidInput("a Like needs no reason")
            return None
        if code == d.REASON_OTHER and words is None:
            raise InvalidInput("please tell us in a few words", needs_words=True)
        return code or (d.REASON_OTHER if words else None)

    def _reason_deadline(self, case: Case, ev: Evaluation) -> datetime:
        window_end = (case.resolved_at or ev.created_at) + timedelta(
            days=self.rules.evaluation_days)
        return max(window_end, ev.created_at + REASON_GRACE)

    def _tell_agents(self, uow: UnitOfWork, case: Case, ev: Evaluation, now: datetime) -> None:
        with i18n.speaking_to_agents():  # the reason's label in English, the words as written
            reason = reason_text(ev)
        self.relay.post_in_thread(uow, case, t("thread.evaluation_reason",
                                       level=EVALUATION_LABELS[ev.level],
                                       reason=reason), NOTE_AUTHOR, now)
        self.relay.publish_card(uow, case, now)
