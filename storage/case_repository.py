"""Cases: numbers, the one-active-case-per-issue index (rule 1), lists and searches."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.domain import (
    ACTIVE_STATUSES,
    DECLINED,
    Case,
    NewCase,
)
from bot.ports import DuplicateActiveCase
from storage.models import (
    Base,
    CaseRow,
    CounterRow,
)
from storage.repository_base import SqlRepository as _Repo
from storage.row_mapping import (
    case_from_row,
)
from storage.unique_violations import violates_unique_index

# Rule 1's partial unique index: a violation of it (and only of it) is a DuplicateActiveCase.
ACTIVE_ISSUE_INDEX = next(i for i in Base.metadata.tables[CaseRow.__tablename__].indexes
                          if i.name == "uq_cases_active_issue")


class SqlCaseRepository(_Repo):
    def __init__(self, session: Session, prefix: str) -> None:
        super().__init__(session)
        self.prefix = prefix
        # Rows read under lock, kept until the unit of work ends: the session's identity map
        # holds rows weakly, and update() of a locked case must not read it again.
        self._locked: dict[int, CaseRow] = {}

    def _next_number(self) -> str:
        # Incrementing one counter row takes its row lock until commit, so numbers are
        # gapless (a rolled-back insert rolls the counter back) and never collide.
        value = self.session.execute(
            update(CounterRow)
            .where(CounterRow.name == "case")
            .values(value=CounterRow.value + 1)
            .returning(CounterRow.value)
        ).scalar()
        if value is None:
            try:
                with self.session.begin_nested():
                    self.session.add(CounterRow(name="case", value=1))
                value = 1
            except IntegrityError:
                return self._next_number()
        return f"{self.prefix}-{value:06d}"

    def add(self, new: NewCase) -> Case:
        try:
            with self.session.begin_nested():
                row = CaseRow(
                    number=self._next_number(), seller_id=new.seller_id,
                    identity_id=new.identity_id, case_type=new.case_type,
                    order_key=new.order_id or "", subject_key=new.subject or "",
                    title=new.title, status=new.status,
                    urgent=new.urgent, needs_human=False, keep_open_count=0,
                    created_at=new.created_at, updated_at=new.created_at,
                    status_changed_at=new.created_at,
                    first_response_due_at=new.first_response_due_at,
                    reopened_from_id=new.reopened_from_id, reminders_sent=0,
                    first_response_warning_sent=False, first_response_breach_sent=False,
                )
                self.session.add(row)
                self.session.flush()
        except IntegrityError as exc:
            if violates_unique_index(exc, ACTIVE_ISSUE_INDEX):
                raise DuplicateActiveCase(str(exc.orig)) from exc
            raise
        return case_from_row(row)

    def get(self, case_id: int) -> Case | None:
        row = self.session.get(CaseRow, case_id)
        return case_from_row(row) if row else None

    def get_by_number(self, number: str, lock: bool = False) -> Case | None:
        stmt = select(CaseRow).where(CaseRow.number == number)
        if lock:
            stmt = stmt.with_for_update().execution_options(populate_existing=True)
        row = self.session.scalar(stmt)
        if row is None:
            return None
        if lock:
            self._locked[row.id] = row
        return case_from_row(row)

    def get_for_update(self, case_id: int) -> Case | None:
        row = self.session.scalar(
            select(CaseRow).where(CaseRow.id == case_id).with_for_update()
            .execution_options(populate_existing=True)
        )
        if row is None:
            return None
        self._locked[row.id] = row
        return case_from_row(row)

    def _issue(self, seller_id: int, case_type: str, order_id: str | None,
               subject: str | None = None) -> Any:
        return self._same_type(seller_id, case_type, order_id).where(
            CaseRow.subject_key == (subject or ""))

    @staticmethod
    def _same_type(seller_id: int, case_type: str, order_id: str | None) -> Any:
        return select(CaseRow).where(
            CaseRow.seller_id == seller_id,
            CaseRow.case_type == case_type,
            CaseRow.order_key == (order_id or ""),
        )

    def find_active(self, seller_id: int, case_type: str, order_id: str | None,
                    subject: str | None = None) -> Case | None:
        row = self.session.scalar(
            self._issue(seller_id, case_type, order_id, subject)
            .where(CaseRow.status.in_(ACTIVE_STATUSES))
            .execution_options(populate_existing=True)
        )
        return case_from_row(row) if row else None

    def find_declined(self, seller_id: int, case_type: str, order_id: str | None,
                      subject: str | None = None) -> Case | None:
        row = self.session.scalar(
            self._issue(seller_id, case_type, order_id, subject)
            .where(CaseRow.status == DECLINED)
            .order_by(CaseRow.id.desc())
            .limit(1)
        )
        return case_from_row(row) if row else None

    def same_type(self, seller_id: int, case_type: str, order_id: str | None,
                  statuses: Sequence[str]) -> Sequence[Case]:
        rows = self.session.scalars(
            self._same_type(seller_id, case_type, order_id)
            .where(CaseRow.status.in_(statuses))
            .order_by(CaseRow.id.desc())
            .execution_options(populate_existing=True)
        )
        return [case_from_row(r) for r in rows]

    def find_declined_with_order(self, seller_id: int, order_id: str) -> Case | None:
        row = self.session.scalar(
            select(CaseRow).where(CaseRow.seller_id == seller_id, CaseRow.order_key == order_id,
                                  CaseRow.status == DECLINED)
            .order_by(CaseRow.id.desc()).limit(1)
        )
        return case_from_row(row) if row else None

    def update(self, case_id: int, **changes: Any) -> Case:
        row = self._locked.get(case_id) or self.session.get(CaseRow, case_id)
        if row is None:
            raise KeyError(case_id)
        if "order_id" in changes:
            changes["order_key"] = changes.pop("order_id") or ""
        if "subject" in changes:
            changes["subject_key"] = changes.pop("subject") or ""
        for key, value in changes.items():
            if not hasattr(CaseRow, key):
                raise AttributeError(f"cases has no column {key}")
            setattr(row, key, value)
        try:
            with self.session.begin_nested():
                self.session.flush()
        except IntegrityError as exc:
            if violates_unique_index(exc, ACTIVE_ISSUE_INDEX):
                raise DuplicateActiveCase(str(exc.orig)) from exc
            raise
        return case_from_row(row)

    def _filtered(
        self, stmt: Any, statuses: Sequence[str] | None, query: str | None, limit: int
    ) -> Sequence[Case]:
        if statuses:
            stmt = stmt.where(CaseRow.status.in_(statuses))
        if query:
            needle = query.strip()
            like = f"%{needle.lower()}%"
            stmt = stmt.where(
                or_(
                    CaseRow.number == needle.upper(),
                    func.lower(CaseRow.title).like(like),
                    CaseRow.order_key == needle.upper(),
                )
            )
        rows = self.session.scalars(stmt.order_by(CaseRow.updated_at.desc(), CaseRow.id.desc()).limit(limit))
        return [case_from_row(r) for r in rows]

    def list_for_seller(
        self, seller_id: int, statuses: Sequence[str] | None, query: str | None, limit: int
    ) -> Sequence[Case]:
        return self._filtered(
            select(CaseRow).where(CaseRow.seller_id == seller_id), statuses, query, limit
        )

    def list_all(
        self, statuses: Sequence[str] | None, query: str | None, limit: int
    ) -> Sequence[Case]:
        return self._filtered(select(CaseRow), statuses, query, limit)

    def count_created_since(self, seller_id: int, since: datetime) -> int:
        return int(
            self.session.scalar(
                select(func.count())
                .select_from(CaseRow)
                # A reopened case continues an old one: not a new case for the daily cap.
                .where(CaseRow.seller_id == seller_id, CaseRow.created_at >= since,
                       CaseRow.reopened_from_id.is_(None))
            )
            or 0
        )
