"""SQLAlchemy implementations of the repository ports in `bot.ports`, one module per
aggregate; the unit of work (`storage.uow`) puts them together."""

from __future__ import annotations

from storage.case_repository import SqlCaseRepository
from storage.conversation_repositories import (
    SqlEvaluationRepository,
    SqlEventRepository,
    SqlMessageRepository,
)
from storage.people_repositories import (
    SqlIdentityRepository,
    SqlInvitationRepository,
    SqlSellerRepository,
)
from storage.turn_repositories import SqlDialogueRepository, SqlInboundRepository

__all__ = [
    "SqlCaseRepository",
    "SqlDialogueRepository",
    "SqlEvaluationRepository",
    "SqlEventRepository",
    "SqlIdentityRepository",
    "SqlInboundRepository",
    "SqlInvitationRepository",
    "SqlMessageRepository",
    "SqlSellerRepository",
]
