"""Domain records and vocabulary of the case store.

These are plain snapshots: the storage adapter reads rows into them and the rules in
`bot.cases` decide what changes, then ask the repositories to write it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

# Case statuses (docs/design.md, rule 10).
OPEN = "open"
INVESTIGATING = "investigating"
PENDING = "pending"
RESOLVED = "resolved"
CLOSED = "closed"
DECLINED = "declined"
STATUSES: tuple[str, ...] = (OPEN, INVESTIGATING, PENDING, RESOLVED, CLOSED, DECLINED)
# A case "on the same issue" blocks a new one while it is in one of these (rule 1). A resolved
# case still counts: a seller reply puts it back in progress (rule 3).
ACTIVE_STATUSES: tuple[str, ...] = (OPEN, INVESTIGATING, PENDING, RESOLVED)
IN_PROGRESS_STATUSES: tuple[str, ...] = (OPEN, INVESTIGATING)

# Who did something.
SELLER = "seller"
AGENT = "agent"
BOT = "bot"
SYSTEM = "system"

# Evaluation levels (rule 6), stored by key; labels are the engine's.
EVALUATION_LEVELS: tuple[str, ...] = ("like", "so_so", "disappointing")
LEVELS_NEEDING_REASON: frozenset[str] = frozenset({"so_so", "disappointing"})
# Why a lower rating was given, stored by code (the seeds' reasons); "other" comes with the
# seller's own words.
REASON_OTHER = "other"
EVALUATION_REASONS: tuple[str, ...] = (
    "slow_reply", "problem_not_solved", "unclear_answer", "unfriendly", REASON_OTHER)


@dataclass(frozen=True)
class Seller:
    id: int
    merchant_id: int
    display_name: str
    is_main: bool
    created_at: datetime
    #: "en" or "zh_CN" (bot.i18n.LANGUAGES); None: not known yet (detected on the next message).
    language: str | None = None
    #: An IANA time zone; None: the language's default (bot.i18n).
    time_zone: str | None = None


@dataclass(frozen=True)
class Identity:
    """A platform user (Telegram user, Slack user, console user); seller_id once registered."""

    id: int
    channel: str
    external_id: str
    address: str
    display_name: str | None
    seller_id: int | None
    blocked_at: datetime | None = None


@dataclass(frozen=True)
class Invitation:
    id: int
    code: str
    seller_name: str
    merchant_id: int | None  # set: the new seller is a sub-account of that merchant
    expires_at: datetime
    used_by_seller_id: int | None
    created_at: datetime


@dataclass(frozen=True)
class Case:
    id: int
    number: str
    seller_id: int
    identity_id: int | None
    case_type: str | None
    order_id: str | None
    title: str
    status: str
    urgent: bool
    needs_human: bool
    keep_open_count: int
    created_at: datetime
    updated_at: datetime
    status_changed_at: datetime
    first_response_due_at: datetime | None
    first_response_at: datetime | None
    pending_since: datetime | None
    auto_close_at: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None
    seller_seen_at: datetime | None
    reopened_from_id: int | None
    reopened_as_id: int | None
    reminders_sent: int = 0
    first_response_warning_sent: bool = False
    first_response_breach_sent: bool = False
    # Types without an order: what tells this issue apart (bot.subjects); None with an order.
    subject: str | None = None
    # Credits: agent refs (a Slack user id, a CLI name); the assignee's display name.
    assignee_ref: str | None = None
    assignee_name: str | None = None
    first_response_by: str | None = None
    resolved_by: str | None = None

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES


@dataclass(frozen=True)
class CaseThread:
    """Where a case is shown to agents on one platform: the channel, and the parent message
    its thread hangs from (Slack: the channel id and the parent's ts). The relay's knowledge,
    recorded once the parent is posted."""

    case_id: int
    platform: str
    channel: str
    parent_message_id: str


@dataclass(frozen=True)
class CaseMessage:
    id: int
    case_id: int
    author_kind: str
    author_ref: str | None
    author_name: str | None
    text: str
    attachments: tuple[dict[str, Any], ...]
    internal: bool
    created_at: datetime
    read_at: datetime | None = None
    edited_at: datetime | None = None


@dataclass(frozen=True)
class CaseEvent:
    id: int
    case_id: int
    kind: str
    actor_kind: str
    actor_ref: str | None
    from_value: str | None
    to_value: str | None
    reason: str | None
    created_at: datetime


@dataclass(frozen=True)
class Evaluation:
    case_id: int
    level: str
    reason: str | None  # the seller's own words, if any
    created_at: datetime
    reason_code: str | None = None  # one of EVALUATION_REASONS; None: no reason (yet)


@dataclass(frozen=True)
class NewCase:
    """What the rules ask storage to insert; the number is allocated by storage."""

    seller_id: int
    identity_id: int | None
    case_type: str | None
    order_id: str | None
    title: str
    status: str
    urgent: bool
    created_at: datetime
    first_response_due_at: datetime | None
    reopened_from_id: int | None = None
    subject: str | None = None  # bot.subjects key; only for a type without an order


@dataclass(frozen=True)
class CaseSummary:
    """A case with what a seller's list needs: last visible reply and unread count."""

    case: Case
    last_reply: CaseMessage | None
    unread: int
    extra: dict[str, Any] = field(default_factory=dict)
