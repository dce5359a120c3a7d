"""The case rules (docs/design.md, rules 1-11) as a service layer over a unit of work.

Operations return domain records or raise a `bot.errors.CaseRuleError` saying why; no chat
text is composed here beyond the relay's notices. Every change writes a case event, and the
outbox items it causes are written in the same transaction.

The rules live in `bot.case_rules`, one module per group; `CaseService` is all of them.
"""

from __future__ import annotations

from bot.case_rules.assignment import AssignmentRules
from bot.case_rules.base import STATUS_FILTERS, CaseRules, CaseServiceBase
from bot.case_rules.conversation import ConversationRules
from bot.case_rules.deletion import DeletionRules
from bot.case_rules.email_addresses import EmailAddressRules
from bot.case_rules.evaluation import EvaluationRules
from bot.case_rules.invitation_requests import InvitationRequestRules
from bot.case_rules.lookups import ConversationLookups
from bot.case_rules.opening import OpeningRules
from bot.case_rules.preferences import PreferenceRules
from bot.case_rules.queries import CaseQueries
from bot.case_rules.registration import RegistrationRules
from bot.case_rules.results import AddedMessage, CaseDetail, OpenCaseResult, ReopenResult
from bot.case_rules.retyping import RetypingRules
from bot.case_rules.seller_actions import SellerActionRules
from bot.case_rules.status import TRANSITIONS, StatusRules
from bot.case_rules.withdrawal import WithdrawalRules

__all__ = [
    "STATUS_FILTERS",
    "TRANSITIONS",
    "AddedMessage",
    "CaseDetail",
    "CaseRules",
    "CaseService",
    "CaseServiceBase",
    "OpenCaseResult",
    "ReopenResult",
]


class CaseService(ConversationLookups, RegistrationRules, CaseQueries, ConversationRules,
                  InvitationRequestRules, SellerActionRules, WithdrawalRules, RetypingRules,
                  OpeningRules, StatusRules, EvaluationRules, AssignmentRules,
                  EmailAddressRules, PreferenceRules, DeletionRules):
    """The rules. One method, one transaction."""
