"""What the case rules return besides domain records."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

from bot import domain as d
from bot.domain import Case, CaseMessage, Evaluation


@dataclass(frozen=True)
class OpenCaseResult:
    """``created`` False: an active case on the same issue already existed and is returned."""

    case: Case
    created: bool


class AddedMessage(NamedTuple):
    """A seller message added to a case; ``previous_status`` tells whether it moved the case
    back in progress (it was pending or resolved)."""

    case: Case
    message: CaseMessage
    previous_status: str


@dataclass(frozen=True)
class ReopenResult:
    """``case`` is the case now in progress and ``previous`` the one the seller asked to reopen
    (the same case when it was still in progress). ``new_case`` is True when a closed case got
    a new, linked number; False when the case itself went back in progress, or when another
    active case on the same issue already existed and ``case`` is that one."""

    case: Case
    previous: Case
    new_case: bool


@dataclass(frozen=True)
class CaseDetail:
    case: Case
    messages: Sequence[CaseMessage]
    events: Sequence[d.CaseEvent]
    evaluation: Evaluation | None
    reopened_from: str | None
    reopened_as: str | None
    unread: int
    extra: dict[str, Any] = field(default_factory=dict)
    # Where agents see the case (its thread on the agents' platform), once posted.
    agents_thread: d.CaseThread | None = None


@dataclass(frozen=True)
class HumanRequest:
    """The seller asked for a person. ``first_asked_at`` None: this was the first time.
    Otherwise ``answer`` is the latest agent reply since the first request (None: nobody has
    answered yet) and ``agents_told`` whether the thread heard of this repeat."""

    case: Case
    first_asked_at: datetime | None = None
    answer: CaseMessage | None = None
    agents_told: bool = True

