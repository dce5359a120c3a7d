"""Evaluating a resolved case (rule 9)."""

from __future__ import annotations

from datetime import timedelta

from bot import domain as d
from bot.case_rules.base import CaseServiceBase
from bot.domain import Evaluation
from bot.errors import (
    EvaluationRefused,
    InvalidInput,
)
from bot.texts import EVALUATION_LABELS, t


class EvaluationRules(CaseServiceBase):
    def evaluate(self, seller_id: int, number: str, level: str,
                 reason: str | None = None) -> Evaluation:
        """Rate the resolution: once per case, within the window after resolution (rule 6)."""
        if level not in d.EVALUATION_LEVELS:
            raise InvalidInput(f"unknown evaluation {level!r}")
        if level in d.LEVELS_NEEDING_REASON and not (reason and reason.strip()):
            raise InvalidInput("please tell us why", needs_reason=True)
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
            ev = uow.evaluations.add(case.id, level, self._clean(reason) if reason else None, now)
            uow.events.add(case.id, "evaluation", d.SELLER, str(seller_id), None, level,
                           ev.reason, now)
            self.relay.thread(uow, case, t("thread.evaluation", level=EVALUATION_LABELS[level],
                                           reason=f": {ev.reason}" if ev.reason else ""),
                              "Frontdoor", now)
            self.relay.publish_card(uow, case, now)
            uow.commit()
            return ev

