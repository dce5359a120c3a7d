"""SQLAlchemy 2 typed models: the schema of the case store.

The Alembic migrations in `storage/migrations` must produce exactly this schema
(tests/integration/test_migrations.py compares them).

Longer than 400 lines because it is the one schema the migrations are compared with: every
table is declared here, on the one metadata.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy import (
    text as sql_text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from bot.domain import ACTIVE_STATUSES

# Stable constraint names so migrations and models agree on both databases.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on both databases (SQLite stores naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; use UTC-aware datetimes")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# Integer primary keys: BIGINT on PostgreSQL, INTEGER (rowid alias) on SQLite.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UtcDateTime(), dict[str, Any]: JSON()}


class Merchant(Base):
    __tablename__ = "merchants"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime]


class SellerRow(Base):
    """A seller account. A merchant's main account and each sub-account are separate sellers."""

    __tablename__ = "sellers"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id"), index=True)
    display_name: Mapped[str] = mapped_column(String(200))
    is_main: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime]
    # The seller's language ("en", "zh_CN") and IANA time zone; None: not known yet (the
    # language is detected and stored on their next message; the zone defaults by language).
    language: Mapped[str | None] = mapped_column(String(16))
    time_zone: Mapped[str | None] = mapped_column(String(64))


class IdentityRow(Base):
    """A platform user; unique per channel. Linked to a seller once registered."""

    __tablename__ = "identities"
    __table_args__ = (UniqueConstraint("channel", "external_id"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    channel: Mapped[str] = mapped_column(String(20))
    external_id: Mapped[str] = mapped_column(String(100))
    address: Mapped[str] = mapped_column(String(100))
    display_name: Mapped[str | None] = mapped_column(String(200))
    seller_id: Mapped[int | None] = mapped_column(ForeignKey("sellers.id"), index=True)
    blocked_at: Mapped[datetime | None]
    created_at: Mapped[datetime]


class InvitationRow(Base):
    __tablename__ = "invitations"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    seller_name: Mapped[str] = mapped_column(String(200))
    merchant_id: Mapped[int | None] = mapped_column(ForeignKey("merchants.id"))
    expires_at: Mapped[datetime]
    created_by: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime]
    used_by_seller_id: Mapped[int | None] = mapped_column(ForeignKey("sellers.id"))
    used_at: Mapped[datetime | None]


class InvitationRequestRow(Base):
    """An unknown user asked for an invitation during pre-launch (agents review these)."""

    __tablename__ = "invitation_requests"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    identity_id: Mapped[int] = mapped_column(ForeignKey("identities.id"), index=True)
    note: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]


class CaseRow(Base):
    __tablename__ = "cases"
    __table_args__ = (
        # Rule 1 in the database: one active case per seller, type and order (types without
        # an order: per subject, so two suppressed listings are two issues).
        Index(
            "uq_cases_active_issue",
            "seller_id",
            "case_type",
            "order_key",
            "subject_key",
            unique=True,
            postgresql_where=sql_text(
                "case_type IS NOT NULL AND status IN ("
                + ", ".join(f"'{s}'" for s in ACTIVE_STATUSES)
                + ")"
            ),
            sqlite_where=sql_text(
                "case_type IS NOT NULL AND status IN ("
                + ", ".join(f"'{s}'" for s in ACTIVE_STATUSES)
                + ")"
            ),
        ),
        Index("ix_cases_issue", "seller_id", "case_type", "order_key", "status"),
        Index("ix_cases_seller_created", "seller_id", "created_at"),
        Index("ix_cases_status_changed", "status", "status_changed_at"),
        # Scheduler sweeps (storage/sweeps.py): each due-set is a range at the end of one index.
        Index("ix_cases_sweep_pending", "status", "reminders_sent", "pending_since"),
        Index("ix_cases_sweep_auto_close", "status", "auto_close_at"),
        Index("ix_cases_sweep_first_response", "status", "first_response_at",
              "first_response_breach_sent", "first_response_warning_sent", "first_response_due_at"),
        # Resolved and closed cases by resolution time (evaluation expiry): one range per status.
        Index("ix_cases_resolved", "status", "resolved_at"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    seller_id: Mapped[int] = mapped_column(ForeignKey("sellers.id"))
    identity_id: Mapped[int | None] = mapped_column(ForeignKey("identities.id"))
    case_type: Mapped[str | None] = mapped_column(String(40))
    # The order id, or "" for none: NULLs would never collide in the unique index.
    order_key: Mapped[str] = mapped_column(String(40), server_default="")
    # What tells apart two issues of a type without an order (bot/subjects.py): normalised,
    # "" when there is an order (the order tells them apart) or for cases from before 0004.
    subject_key: Mapped[str] = mapped_column(String(60), server_default="")
    title: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20))
    urgent: Mapped[bool] = mapped_column(Boolean, server_default=sql_text("false"))
    needs_human: Mapped[bool] = mapped_column(Boolean, server_default=sql_text("false"))
    keep_open_count: Mapped[int] = mapped_column(Integer, server_default="0")
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    status_changed_at: Mapped[datetime]
    first_response_due_at: Mapped[datetime | None]
    first_response_at: Mapped[datetime | None]
    pending_since: Mapped[datetime | None]
    auto_close_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    seller_seen_at: Mapped[datetime | None]
    reopened_from_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))
    reopened_as_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))
    reminders_sent: Mapped[int] = mapped_column(Integer, server_default="0")
    first_response_warning_sent: Mapped[bool] = mapped_column(Boolean,
                                                              server_default=sql_text("false"))
    first_response_breach_sent: Mapped[bool] = mapped_column(Boolean,
                                                             server_default=sql_text("false"))
    # Credits: the agent a case is assigned to, and the agents (refs: a Slack user
    # id, a CLI name) who gave its first response and resolved it.
    assignee_ref: Mapped[str | None] = mapped_column(String(100))
    assignee_name: Mapped[str | None] = mapped_column(String(200))
    first_response_by: Mapped[str | None] = mapped_column(String(100))
    resolved_by: Mapped[str | None] = mapped_column(String(100))


_UNREAD_NOTICE_DUE = ("author_kind = 'agent' AND internal = false AND read_at IS NULL "
                      "AND unread_notice_at IS NULL")


class CaseThreadRow(Base):
    """Where a case is shown to agents on one platform: the channel and the parent message of
    its thread (Slack: the channel id and the parent's ts). One per case and platform, written
    when the parent is first posted; a thread reply finds its case by it."""

    __tablename__ = "case_threads"
    __table_args__ = (UniqueConstraint("platform", "channel", "parent_message_id"),)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), primary_key=True)
    platform: Mapped[str] = mapped_column(String(20), primary_key=True)
    channel: Mapped[str] = mapped_column(String(100))
    parent_message_id: Mapped[str] = mapped_column(String(100))


class CaseMessageRow(Base):
    __tablename__ = "case_messages"
    __table_args__ = (
        Index("ix_case_messages_case", "case_id", "id"),
        # The email sweep's due set (bot/email_notices.py): agents' replies not read and not
        # yet looked at by the sweep; each leaves the index once read or settled.
        Index("ix_case_messages_unread_notice", "created_at",
              postgresql_where=sql_text(_UNREAD_NOTICE_DUE),
              sqlite_where=sql_text(_UNREAD_NOTICE_DUE)),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    author_kind: Mapped[str] = mapped_column(String(10))
    author_ref: Mapped[str | None] = mapped_column(String(100))
    author_name: Mapped[str | None] = mapped_column(String(200))
    text: Mapped[str] = mapped_column(Text)
    attachments: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    internal: Mapped[bool] = mapped_column(Boolean, server_default=sql_text("false"))
    created_at: Mapped[datetime]
    read_at: Mapped[datetime | None]
    edited_at: Mapped[datetime | None]
    # When the unread-reply email sweep settled this reply: an email queued, or none needed
    # (no verified address); NULL while it may still need one.
    unread_notice_at: Mapped[datetime | None]


class MessageRefRow(Base):
    """Where a case message landed on a platform (chat + message id), for replies and edits."""

    __tablename__ = "message_refs"
    __table_args__ = (UniqueConstraint("platform", "chat_id", "message_id"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    platform: Mapped[str] = mapped_column(String(20))
    chat_id: Mapped[str] = mapped_column(String(100))
    message_id: Mapped[str] = mapped_column(String(100))
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    case_message_id: Mapped[int | None] = mapped_column(ForeignKey("case_messages.id"))


class CaseEventRow(Base):
    """Every status or flag change: who, when, from, to, why. Never deleted."""

    __tablename__ = "case_events"
    __table_args__ = (Index("ix_case_events_case", "case_id", "id"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    kind: Mapped[str] = mapped_column(String(30))
    actor_kind: Mapped[str] = mapped_column(String(10))
    actor_ref: Mapped[str | None] = mapped_column(String(100))
    from_value: Mapped[str | None] = mapped_column(String(100))
    to_value: Mapped[str | None] = mapped_column(String(100))
    reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]


class EvaluationRow(Base):
    __tablename__ = "evaluations"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), unique=True)
    level: Mapped[str] = mapped_column(String(20))
    # One of bot.domain.EVALUATION_REASONS; NULL while no reason was given (a skipped reason
    # keeps the rating).
    reason_code: Mapped[str | None] = mapped_column(String(30))
    reason: Mapped[str | None] = mapped_column(Text)  # the seller's own words
    created_at: Mapped[datetime]


class OutboxRow(Base):
    """A platform message to send; written in the same transaction as the change behind it."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_due", "status", "next_attempt_at"),
        Index("ix_outbox_ordering", "ordering_key", "status", "id"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    destination: Mapped[str] = mapped_column(String(20))
    kind: Mapped[str] = mapped_column(String(40))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))
    ordering_key: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(10))  # pending | sent | dead | withdrawn
    attempts: Mapped[int] = mapped_column(Integer, server_default="0")
    # Attempts spent before an operator requeued the dead letter (``attempts`` starts again
    # at 0): a retried item was tried before, and may already be on the platform.
    attempts_before_retry: Mapped[int] = mapped_column(Integer, server_default="0")
    next_attempt_at: Mapped[datetime]
    claimed_until: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    platform_message_id: Mapped[str | None] = mapped_column(String(100))
    platform_chat_id: Mapped[str | None] = mapped_column(String(100))


class ProcessedEventRow(Base):
    """Inbound platform deliveries being handled or handled (Slack retries, Telegram replays).

    A row with ``lease_until`` set is a claim in progress, held by ``owner``: it is done when
    the event's work (for a seller's turn, its work and answer) commits (``lease_until`` cleared
    and ``work_done`` set in the same transaction).
    A claim whose lease ran out (its process died, or lost the database) is taken over by the
    platform's redelivery. Rows from before leases existed have no lease: done.
    """

    __tablename__ = "processed_events"
    __table_args__ = (UniqueConstraint("source", "event_id"),
                      Index("ix_processed_events_created_at", "created_at"))
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    source: Mapped[str] = mapped_column(String(20))
    event_id: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime]
    lease_until: Mapped[datetime | None]
    owner: Mapped[str | None] = mapped_column(String(40))
    # The event's work is saved. A leased row with it dates from when a turn's answer was
    # saved after its work: it counts as done.
    work_done: Mapped[bool] = mapped_column(Boolean, server_default=sql_text("false"))


class InboxRow(Base):
    """An inbound platform event acknowledged before it was processed (Slack's HTTP events:
    answered at once, as Slack wants within 3 s, then handled). Recorded before the
    acknowledgement, so a process that dies after it loses nothing: the row's lease runs out
    and any process picks the event up. Deleted once the event was handled."""

    __tablename__ = "inbound_inbox"
    __table_args__ = (UniqueConstraint("source", "event_id"),
                      Index("ix_inbound_inbox_conversation", "source", "conversation", "id"))
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    source: Mapped[str] = mapped_column(String(20))
    event_id: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime]
    lease_until: Mapped[datetime] = mapped_column(index=True)
    owner: Mapped[str] = mapped_column(String(40))
    attempts: Mapped[int] = mapped_column(Integer, server_default=sql_text("0"))
    # Events of one conversation (a Slack channel and thread) are processed in order: one
    # waits while an older one of its conversation is still here. None: no order to keep.
    conversation: Mapped[str | None] = mapped_column(String(200))


class DialogueStateRow(Base):
    __tablename__ = "dialogue_states"
    __table_args__ = (UniqueConstraint("channel", "external_id"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    channel: Mapped[str] = mapped_column(String(20))
    external_id: Mapped[str] = mapped_column(String(100))
    state: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_at: Mapped[datetime]


class CounterRow(Base):
    """Gapless sequences (case numbers): one row per name, incremented under a row lock."""

    __tablename__ = "counters"
    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger)


class JobRunRow(Base):
    """The last run of each scheduled job (bot/sweeps.py). For the daily digest ``last_slot`` is
    the scheduled time it was posted for: claiming a slot is a conditional UPDATE, so one
    process posts each digest and a restart can tell which one it missed."""

    __tablename__ = "job_runs"
    name: Mapped[str] = mapped_column(String(60), primary_key=True)
    last_slot: Mapped[datetime | None]
    last_run_at: Mapped[datetime | None]
    last_count: Mapped[int] = mapped_column(Integer, server_default="0")


class SweepMarkRow(Base):
    """One-off scheduler actions on a case that have no flag column on ``cases`` (e.g. the
    evaluation buttons expired for the resolution at ``due_at``). The unique key is the claim."""

    __tablename__ = "sweep_marks"
    __table_args__ = (UniqueConstraint("case_id", "kind", "due_at"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    kind: Mapped[str] = mapped_column(String(30))
    due_at: Mapped[datetime]
    created_at: Mapped[datetime]


class PortalLoginUseRow(Base):
    """A portal login link that was used (bot/portal_login.py): the hash of its token, never
    the token. The unique key makes each link single use; rows past ``expires_at`` are useless
    (the link is expired anyway) and are pruned."""

    __tablename__ = "portal_login_uses"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    seller_id: Mapped[int] = mapped_column(ForeignKey("sellers.id"))
    expires_at: Mapped[datetime] = mapped_column(index=True)
    used_at: Mapped[datetime]


class WebChatLineRow(Base):
    """One line of a seller's web chat (adapters/web): what the bot or an agent said (written
    by the web sender when it delivers the outbox item, once per item) or what the seller
    typed (once per client message id). Browsers read a chat's lines after the last id they
    have, so one that was away catches up."""

    __tablename__ = "web_chat_lines"
    __table_args__ = (
        Index("ix_web_chat_lines_address", "address", "id"),
        # The retention job deletes the oldest lines first (FRONTDOOR_WEB_CHAT_RETENTION_DAYS).
        Index("ix_web_chat_lines_created_at", "created_at"),
        UniqueConstraint("address", "client_id"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    address: Mapped[str] = mapped_column(String(100))
    author: Mapped[str] = mapped_column(String(10))  # bot | seller
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    outbox_id: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    client_id: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime]


class SellerEmailRow(Base):
    """A seller's email address for notifications (optional): ``address`` once verified by
    the link sent to it; a change waits in ``pending_address`` with the hash of its one-time
    token until verified, the old address staying in use meanwhile."""

    __tablename__ = "seller_emails"
    seller_id: Mapped[int] = mapped_column(ForeignKey("sellers.id"), primary_key=True)
    address: Mapped[str | None] = mapped_column(String(254))
    verified_at: Mapped[datetime | None]
    pending_address: Mapped[str | None] = mapped_column(String(254))
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    token_expires_at: Mapped[datetime | None]
    updated_at: Mapped[datetime]


class AgentRotationRow(Base):
    """Round-robin assignment (bot/round_robin.py): per pool of agents (a Slack user group),
    the member given the last case. Choosing the next member locks this row for the rest of
    the transaction, so two processes never hand out the same turn."""

    __tablename__ = "agent_rotations"
    pool: Mapped[str] = mapped_column(String(100), primary_key=True)
    last_member: Mapped[str | None] = mapped_column(String(100))
    assigned_count: Mapped[int] = mapped_column(BigInteger, server_default="0")
    updated_at: Mapped[datetime | None]


class PortalFileRow(Base):
    """A file a seller uploaded on the portal, kept in the database so every serve
    process can hand it out: to the Slack sender copying it into the case's thread, and back
    to its seller (only) on the case's page."""

    __tablename__ = "portal_files"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    seller_id: Mapped[int] = mapped_column(ForeignKey("sellers.id"), index=True)
    file_name: Mapped[str] = mapped_column(String(200))
    mime_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    content: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime]
