"""The SQL side of the email sweep (`bot.email_notices.EmailNoticeStore`).

Unread replies: the due set is a range at the start of the partial index
``ix_case_messages_unread_notice`` (agents' replies neither read nor settled), claimed with
``UPDATE ... WHERE id IN (SELECT ... FOR UPDATE SKIP LOCKED LIMIT n) RETURNING``; a settled
reply leaves the index. Evaluation invitations: a ``sweep_marks`` row per resolution
(``ON CONFLICT DO NOTHING``), over the range of ``ix_cases_status_changed`` of cases resolved
within the window. On SQLite every write transaction is ``BEGIN IMMEDIATE``: sweeps serialize.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from sqlalchemy import Select, exists, literal, literal_column, select, update
from sqlalchemy.orm import Session

from bot import domain as d
from bot.email_notices import EvaluationInvite, UnreadReplies
from bot.ports import UnitOfWork
from storage.email_repository import _aware
from storage.models import CaseMessageRow, CaseRow, EvaluationRow, SellerEmailRow, SweepMarkRow
from storage.repository_base import conflict_insert
from storage.row_mapping import case_from_row
from storage.uow import SqlUnitOfWork

EVALUATION_MARK = "email_evaluation"


def _session(uow: UnitOfWork) -> Session:
    if not isinstance(uow, SqlUnitOfWork):
        raise TypeError("SqlEmailNoticeStore needs a storage.uow.SqlUnitOfWork")
    return uow.session


def _is_pg(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def unread_due(written_before: datetime, limit: int, locking: bool) -> Select[int]:
    """The oldest unread, unsettled agent replies written before ``written_before``. Each
    condition is spelled as the partial index's predicate, literals included
    (``internal = false``, not ``IS FALSE`` nor SQLite's ``= 0``, nor a bound parameter), so
    both databases can prove the index covers the query and read only its range.
    ``locking``: skip rows another sweeper holds (PostgreSQL)."""
    due = (select(CaseMessageRow.id)
           .where(CaseMessageRow.author_kind == literal_column(f"'{d.AGENT}'"),
                  CaseMessageRow.internal == literal_column("false"),
                  CaseMessageRow.read_at.is_(None),
                  CaseMessageRow.unread_notice_at.is_(None),
                  CaseMessageRow.created_at <= written_before)
           .order_by(CaseMessageRow.created_at).limit(limit))
    return due.with_for_update(skip_locked=True) if locking else due


class SqlEmailNoticeStore:
    def claim_unread_replies(self, uow: UnitOfWork, written_before: datetime, now: datetime,
                             limit: int) -> tuple[int, list[UnreadReplies]]:
        session = _session(uow)
        due = unread_due(written_before, limit, locking=_is_pg(session))
        settled = session.execute(
            update(CaseMessageRow)
            .where(CaseMessageRow.id.in_(due.scalar_subquery()),
                   CaseMessageRow.unread_notice_at.is_(None))
            .values(unread_notice_at=now)
            .returning(CaseMessageRow.id, CaseMessageRow.case_id, CaseMessageRow.created_at,
                       CaseMessageRow.text)
        ).all()
        if not settled:
            return 0, []
        case_ids = sorted({row.case_id for row in settled})
        found = session.execute(
            select(CaseRow, SellerEmailRow.address, SellerEmailRow.verified_at)
            .join(SellerEmailRow, SellerEmailRow.seller_id == CaseRow.seller_id)
            .where(CaseRow.id.in_(case_ids), SellerEmailRow.address.is_not(None))
        ).all()
        by_case = {case.id: (case, address, _aware(verified)) for case, address, verified in found}
        replies: dict[int, list[tuple[datetime, int, str]]] = defaultdict(list)
        for row in settled:
            target = by_case.get(row.case_id)
            written = _aware(row.created_at)
            # Only replies written since the address was verified are mailed about.
            if target is None or target[2] is None or written is None or written < target[2]:
                continue
            replies[row.case_id].append((written, row.id, row.text))
        notices = []
        for case_id, waiting in replies.items():
            case, address, _verified = by_case[case_id]
            latest = max(waiting)
            notices.append(UnreadReplies(case_from_row(case), str(address), len(waiting),
                                         latest[2]))
        return len(settled), notices

    def claim_evaluation_invites(self, uow: UnitOfWork, resolved_since: datetime,
                                 now: datetime, limit: int) -> list[EvaluationInvite]:
        session = _session(uow)
        marked = exists().where(
            SweepMarkRow.case_id == CaseRow.id,
            SweepMarkRow.kind == EVALUATION_MARK,
            SweepMarkRow.due_at == CaseRow.status_changed_at,
        )
        rated = exists().where(EvaluationRow.case_id == CaseRow.id)
        has_address = exists().where(SellerEmailRow.seller_id == CaseRow.seller_id,
                                     SellerEmailRow.address.is_not(None))
        source = (select(CaseRow.id, literal(EVALUATION_MARK), CaseRow.status_changed_at,
                         literal(now, SweepMarkRow.created_at.type))
                  .where(CaseRow.status == d.RESOLVED,
                         CaseRow.status_changed_at >= resolved_since,
                         ~marked, ~rated, has_address)
                  .order_by(CaseRow.status_changed_at).limit(limit))
        insert = conflict_insert(session.get_bind().dialect.name)
        stmt = (insert(SweepMarkRow)
                .from_select(["case_id", "kind", "due_at", "created_at"], source)
                .on_conflict_do_nothing()
                .returning(SweepMarkRow.case_id))
        ids = list(session.scalars(stmt).all())
        if not ids:
            return []
        rows = session.execute(
            select(CaseRow, SellerEmailRow.address)
            .join(SellerEmailRow, SellerEmailRow.seller_id == CaseRow.seller_id)
            .where(CaseRow.id.in_(ids)).order_by(CaseRow.id)).all()
        return [EvaluationInvite(case_from_row(case), str(address)) for case, address in rows]
