"""The seller portal's reads that the case service has no call for: a page of a seller's
cases with its total and unread counts in three indexed queries, and the files sellers upload
on the portal. Every read names the seller: another seller's case or file is simply
not found."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, Select, delete, func, or_, select

from bot.domain import AGENT, Case
from storage.database import Database
from storage.models import CaseMessageRow, CaseRow, PortalFileRow, SellerRow
from storage.row_mapping import case_from_row


@dataclass(frozen=True)
class CasesPage:
    """One page of a seller's cases, newest activity first; ``unread`` by case id."""

    cases: Sequence[Case]
    unread: dict[int, int]
    total: int


@dataclass(frozen=True)
class StoredFile:
    file_id: int
    seller_id: int
    file_name: str
    mime_type: str
    content: bytes


def _search(stmt: Select[CaseRow], number: str | None, needle: str) -> Select[CaseRow]:
    """Case number (``number``: the normalised one the words name), title or order id."""
    like = f"%{needle.lower()}%"
    conditions: list[ColumnElement[bool]] = [func.lower(CaseRow.title).like(like),
                                             func.lower(CaseRow.order_key).like(like)]
    if number:
        conditions.append(CaseRow.number == number)
    return stmt.where(or_(*conditions))


class SqlPortalQueries:
    def __init__(self, database: Database) -> None:
        self._database = database

    def cases_page(self, seller_id: int, statuses: Sequence[str] | None, query: str | None,
                   number: str | None, offset: int, limit: int) -> CasesPage:
        """``number``: the case number ``query`` names, normalised (None: it names none)."""
        stmt = select(CaseRow).where(CaseRow.seller_id == seller_id)
        if statuses:
            stmt = stmt.where(CaseRow.status.in_(statuses))
        if query:
            stmt = _search(stmt, number, query.strip())
        with self._database.sessions() as session:
            total = int(session.scalar(select(func.count()).select_from(stmt.subquery())) or 0)
            rows = session.scalars(stmt.order_by(CaseRow.updated_at.desc(), CaseRow.id.desc())
                                   .offset(offset).limit(limit)).all()
            ids = [r.id for r in rows]
            unread: dict[int, int] = {}
            if ids:
                counted = session.execute(
                    select(CaseMessageRow.case_id, func.count())
                    .where(CaseMessageRow.case_id.in_(ids), CaseMessageRow.author_kind == AGENT,
                           CaseMessageRow.internal.is_(False), CaseMessageRow.read_at.is_(None))
                    .group_by(CaseMessageRow.case_id))
                unread = {case_id: int(count) for case_id, count in counted}
            return CasesPage([case_from_row(r) for r in rows], unread, total)

    def numbers_of(self, seller_id: int, case_ids: Sequence[int]) -> dict[int, str]:
        """Case numbers by id, of this seller's cases only (links between reopened cases)."""
        if not case_ids:
            return {}
        with self._database.sessions() as session:
            rows = session.execute(select(CaseRow.id, CaseRow.number).where(
                CaseRow.id.in_(case_ids), CaseRow.seller_id == seller_id))
            return {case_id: number for case_id, number in rows}

    def language_and_zone(self, seller_id: int) -> tuple[str | None, str | None]:
        """The seller's stored language and time zone (None: not known), for the pages."""
        with self._database.sessions() as session:
            row = session.get(SellerRow, seller_id)
            return (row.language, row.time_zone) if row is not None else (None, None)

    # Files ---------------------------------------------------------------------------------
    def add_file(self, seller_id: int, file_name: str, mime_type: str, content: bytes,
                 now: datetime) -> int:
        with self._database.sessions() as session:
            row = PortalFileRow(seller_id=seller_id, file_name=file_name[:200],
                                mime_type=mime_type[:100], size=len(content), content=content,
                                created_at=now)
            session.add(row)
            session.commit()
            return row.id

    def delete_files(self, seller_id: int, file_ids: Sequence[int]) -> int:
        """Delete this seller's files ``file_ids`` (stored with a message a rule then refused,
        so no case refers to them); how many were deleted."""
        if not file_ids:
            return 0
        with self._database.sessions() as session:
            deleted = session.execute(delete(PortalFileRow).where(
                PortalFileRow.id.in_(list(file_ids)), PortalFileRow.seller_id == seller_id))
            session.commit()
            return int(getattr(deleted, "rowcount", 0) or 0)

    def get_file(self, file_id: int, seller_id: int | None = None) -> StoredFile | None:
        """The file; with ``seller_id`` only if that seller uploaded it."""
        stmt = select(PortalFileRow).where(PortalFileRow.id == file_id)
        if seller_id is not None:
            stmt = stmt.where(PortalFileRow.seller_id == seller_id)
        with self._database.sessions() as session:
            row = session.scalar(stmt)
            if row is None:
                return None
            return StoredFile(row.id, row.seller_id, row.file_name, row.mime_type, row.content)
