"""Refusals of the case rules. Each carries a machine-readable code and a plain reason."""

from __future__ import annotations


class CaseRuleError(Exception):
    """A rule refused the operation; ``code`` is stable, ``str(err)`` says why."""

    code = "refused"

    def __init__(self, message: str, **details: object) -> None:
        super().__init__(message)
        self.details = details


class CaseNotFound(CaseRuleError):
    code = "case_not_found"


class NotYourCase(CaseRuleError):
    code = "not_your_case"


class NotRegistered(CaseRuleError):
    code = "not_registered"


class InvitationInvalid(CaseRuleError):
    code = "invitation_invalid"


class DeclinedFinal(CaseRuleError):
    code = "declined_final"


class DailyCapReached(CaseRuleError):
    code = "daily_cap"


class InvalidTransition(CaseRuleError):
    code = "invalid_transition"


class ReopenWindowPassed(InvalidTransition):
    """A closed case too old to reopen (FRONTDOOR_REOPEN_DAYS): a new case can link it."""

    code = "reopen_window_passed"


class KeepOpenLimit(CaseRuleError):
    code = "keep_open_limit"


class EvaluationRefused(CaseRuleError):
    code = "evaluation_refused"


class InvalidInput(CaseRuleError):
    code = "invalid_input"


class EmailOff(CaseRuleError):
    """Email notifications are not set up on this server (FRONTDOOR_SMTP_URL)."""

    code = "email_off"
