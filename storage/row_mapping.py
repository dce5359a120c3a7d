"""Rows to domain records: one mapping per table, shared by every query."""

from __future__ import annotations

from bot.domain import (
    Case,
    CaseEvent,
    CaseMessage,
    Evaluation,
    Identity,
    Invitation,
    Seller,
)
from storage.models import (
    CaseEventRow,
    CaseMessageRow,
    CaseRow,
    EvaluationRow,
    IdentityRow,
    InvitationRow,
    SellerRow,
)


def seller_from_row(row: SellerRow) -> Seller:
    return Seller(row.id, row.merchant_id, row.display_name, row.is_main, row.created_at,
                  row.language, row.time_zone)


def identity_from_row(row: IdentityRow) -> Identity:
    return Identity(
        row.id, row.channel, row.external_id, row.address, row.display_name, row.seller_id,
        row.blocked_at,
    )


def invitation_from_row(row: InvitationRow) -> Invitation:
    return Invitation(
        row.id, row.code, row.seller_name, row.merchant_id, row.expires_at,
        row.used_by_seller_id, row.created_at,
    )


def case_from_row(row: CaseRow) -> Case:
    return Case(
        id=row.id, number=row.number, seller_id=row.seller_id, identity_id=row.identity_id,
        case_type=row.case_type, order_id=row.order_key or None, title=row.title,
        status=row.status, urgent=row.urgent, needs_human=row.needs_human,
        keep_open_count=row.keep_open_count, created_at=row.created_at,
        updated_at=row.updated_at, status_changed_at=row.status_changed_at,
        first_response_due_at=row.first_response_due_at,
        first_response_at=row.first_response_at, pending_since=row.pending_since,
        auto_close_at=row.auto_close_at, resolved_at=row.resolved_at, closed_at=row.closed_at,
        seller_seen_at=row.seller_seen_at, reopened_from_id=row.reopened_from_id,
        reopened_as_id=row.reopened_as_id, reminders_sent=row.reminders_sent,
        first_response_warning_sent=row.first_response_warning_sent,
        first_response_breach_sent=row.first_response_breach_sent,
        subject=row.subject_key or None, assignee_ref=row.assignee_ref,
        assignee_name=row.assignee_name, first_response_by=row.first_response_by,
        resolved_by=row.resolved_by,
    )


def message_from_row(row: CaseMessageRow) -> CaseMessage:
    return CaseMessage(
        row.id, row.case_id, row.author_kind, row.author_ref, row.author_name, row.text,
        tuple(row.attachments or ()), row.internal, row.created_at, row.read_at, row.edited_at,
    )


def event_from_row(row: CaseEventRow) -> CaseEvent:
    return CaseEvent(
        row.id, row.case_id, row.kind, row.actor_kind, row.actor_ref, row.from_value,
        row.to_value, row.reason, row.created_at,
    )


def evaluation_from_row(row: EvaluationRow) -> Evaluation:
    return Evaluation(row.case_id, row.level, row.reason, row.created_at, row.reason_code)
