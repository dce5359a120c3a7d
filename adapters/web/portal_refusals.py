"""What the portal says when a case rule refuses: the chat's catalogue words for the same
refusal (bot.dialogue.common.refusal says them in a turn), in the seller's language. The
rule's own message is for logs and agents; it stays English."""

from __future__ import annotations

from bot.case_rules.results import CaseDetail
from bot.errors import (
    CaseNotFound,
    CaseRuleError,
    DailyCapReached,
    DeclinedFinal,
    EvaluationRefused,
    InvalidInput,
    InvalidTransition,
    KeepOpenLimit,
    NotYourCase,
    ReopenWindowPassed,
)
from bot.texts import t


def refusal_text(exc: CaseRuleError, number: str, days: dict[str, int],
                 detail: CaseDetail | None = None) -> str:
    """The sentence for ``exc`` about case ``number``; ``days`` holds the rules' windows
    (``reopen``, ``evaluation``) for the texts that name them, ``detail`` the case as it was
    loaded before the action (which evaluation refusal it was)."""
    number = str(exc.details.get("number") or number)
    if isinstance(exc, CaseNotFound | NotYourCase):
        return t("case.not_found", number=number or t("case.that_case"))
    if isinstance(exc, DeclinedFinal):
        reason = exc.details.get("reason")
        return (t("refused.declined_reason", number=number, reason=reason) if reason
                else t("refused.declined", number=number))
    if isinstance(exc, DailyCapReached):
        return t("refused.daily_cap", limit=exc.details.get("limit", "?"))
    if isinstance(exc, KeepOpenLimit):
        return t("refused.keep_open_limit", number=number)
    if isinstance(exc, ReopenWindowPassed):
        return t("reopen.window_passed", number=number,
                 days=exc.details.get("days", days["reopen"]))
    if isinstance(exc, EvaluationRefused):
        return _evaluation_refused(number, days["evaluation"], detail)
    if isinstance(exc, InvalidTransition):
        return t("refused.transition", number=number or t("case.that_case"))
    if isinstance(exc, InvalidInput):
        if "limit" in exc.details:
            return t("input.too_long", length=exc.details.get("length"),
                     limit=exc.details["limit"])
        if exc.details.get("needs_words"):
            return t("portal.reason_words_needed")
        return t("portal.write_something")
    return t("refused.generic")


def _evaluation_refused(number: str, days: int, detail: CaseDetail | None) -> str:
    if detail is not None and detail.evaluation is not None:
        return t("eval.already", number=number)
    if detail is not None and detail.case.resolved_at is None:
        return t("eval.not_resolved", number=number)
    if detail is not None:
        return t("eval.expired", number=number, days=days)
    return t("eval.refused", number=number)
