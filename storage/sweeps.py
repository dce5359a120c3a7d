"""The SQL side of the scheduler's sweeps (`bot.sweeps.SweepStore`).

Each ``claim_*`` takes the due cases *in the caller's transaction* so the rule's events and
outbox items commit together with the claim:

- flags (reminders, first-response warning/breach) are claimed with
  ``UPDATE cases SET flag = ... WHERE id IN (SELECT id ... FOR UPDATE SKIP LOCKED LIMIT n)
  AND <still due> RETURNING cases.*``: on PostgreSQL a row another sweeper holds is skipped, and
  one it has just committed no longer matches; on SQLite every write transaction is
  ``BEGIN IMMEDIATE`` (storage.database), so sweeps serialize;
- auto-close locks the rows (``FOR UPDATE SKIP LOCKED``) and the rules change the status;
- one-off actions without a flag column insert a ``sweep_marks`` row
  (``ON CONFLICT DO NOTHING``): the unique key decides who acts.

A claim returns the batch's cases; what the rules then read and write for the whole batch is
`storage.sweep_batches` (a few statements per batch, not per case).

Every due set is a range at the end of an index (``ix_cases_sweep_*``, ``ix_cases_resolved``),
so a sweep reads the due cases, not the table.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, and_, literal, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from bot import domain as d
from bot.domain import Case, Evaluation
from bot.ports import UnitOfWork
from bot.sweep_batch import BatchReads, BatchWrites
from bot.sweep_config import MARK_EVALUATION_EXPIRED
from bot.sweep_store import ClaimedSlot
from storage.models import CaseRow, EvaluationRow, JobRunRow, SweepMarkRow
from storage.row_mapping import case_from_row, evaluation_from_row
from storage.sweep_batches import CASES, among, cases_from_rows, read_batch, write_batch
from storage.uow import SqlUnitOfWork

# Statuses in which the first-response clock runs (it pauses while pending).
FR_STATUSES: tuple[str, ...] = (d.OPEN, d.INVESTIGATING)
AUTO_CLOSE_STATUSES: tuple[str, ...] = (d.PENDING, d.RESOLVED)
# Statuses in which a case with a resolution can still be rated (bot.case_rules.evaluation).
EVALUATION_STATUSES: tuple[str, ...] = (d.RESOLVED, d.CLOSED)


def _session(uow: UnitOfWork) -> Session:
    if not isinstance(uow, SqlUnitOfWork):
        raise TypeError("SqlSweepStore needs a storage.uow.SqlUnitOfWork")
    return uow.session


def _is_pg(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


class SqlSweepStore:
    """Implements `bot.sweeps.SweepStore` over SQLAlchemy (SQLite and PostgreSQL)."""

    # Claims ---------------------------------------------------------------------------------
    def _lockable(self, session: Session, stmt: Select[Any]) -> Select[Any]:
        # Skip rows another process is working on; it will either act or roll back.
        return stmt.with_for_update(skip_locked=True) if _is_pg(session) else stmt

    def _flag(self, session: Session, candidates: Select[Any], still_due: Sequence[Any],
              exclude: Collection[int], **values: Any) -> list[Case]:
        """Set ``values`` on the candidates that are still due; return those cases, read by
        the same statement (``RETURNING``)."""
        if exclude:
            candidates = candidates.where(CaseRow.id.not_in(list(exclude)))
        claimed = session.execute(
            update(CaseRow)
            .where(CaseRow.id.in_(self._lockable(session, candidates).scalar_subquery()),
                   *still_due)
            .values(**values)
            .returning(*CASES.c)
            .execution_options(synchronize_session=False)
        )
        return sorted(cases_from_rows(claimed), key=lambda c: c.id)

    def _load(self, session: Session, ids: list[int]) -> list[Case]:
        if not ids:
            return []
        return cases_from_rows(session.execute(
            select(CASES).where(among(session, CASES.c.id, ids)).order_by(CASES.c.id)))

    # A batch's reads and writes ---------------------------------------------------------------
    def batch_reads(self, uow: UnitOfWork, cases: Sequence[Case], *, chats: bool = False,
                    cards: bool = False, prompts: bool = False,
                    threads: bool = False) -> BatchReads:
        return read_batch(_session(uow), cases, chats=chats, cards=cards, prompts=prompts,
                          threads=threads)

    def write_batch(self, uow: UnitOfWork, writes: BatchWrites) -> None:
        if not isinstance(uow, SqlUnitOfWork):
            raise TypeError("SqlSweepStore needs a storage.uow.SqlUnitOfWork")
        write_batch(uow.session, uow.outbox, writes)

    def claim_reminders(self, uow: UnitOfWork, level: int, pending_before: datetime,
                        now: datetime, limit: int, exclude: Collection[int]) -> list[Case]:
        session = _session(uow)
        below = list(range(level))  # an IN list keeps pending_since a range in the index
        due = [
            CaseRow.status == d.PENDING,
            CaseRow.reminders_sent.in_(below),
            CaseRow.pending_since <= pending_before,
            or_(CaseRow.auto_close_at.is_(None), CaseRow.auto_close_at > now),
        ]
        candidates = (select(CaseRow.id).where(*due).order_by(CaseRow.pending_since)
                      .limit(limit))
        return self._flag(session, candidates, due, exclude, reminders_sent=level)

    def claim_auto_close(self, uow: UnitOfWork, now: datetime, limit: int,
                         exclude: Collection[int]) -> list[Case]:
        session = _session(uow)
        stmt = (select(CASES)
                .where(CaseRow.status.in_(AUTO_CLOSE_STATUSES), CaseRow.auto_close_at <= now)
                .order_by(CaseRow.auto_close_at).limit(limit))
        if exclude:
            stmt = stmt.where(CaseRow.id.not_in(list(exclude)))
        return cases_from_rows(session.execute(self._lockable(session, stmt)))

    @staticmethod
    def _unanswered() -> list[Any]:
        return [
            CaseRow.status.in_(FR_STATUSES),
            CaseRow.first_response_at.is_(None),
            CaseRow.first_response_breach_sent.is_(False),
        ]

    def claim_first_response_breaches(self, uow: UnitOfWork, now: datetime, limit: int,
                                      exclude: Collection[int]) -> list[Case]:
        session = _session(uow)
        due = [
            *self._unanswered(),
            # Both values listed so the index can seek straight to the deadline range.
            CaseRow.first_response_warning_sent.in_([False, True]),
            CaseRow.first_response_due_at <= now,
        ]
        candidates = (select(CaseRow.id).where(*due).order_by(CaseRow.first_response_due_at)
                      .limit(limit))
        # A breach found without a prior warning (downtime) must not warn afterwards.
        return self._flag(session, candidates, due, exclude, first_response_breach_sent=True,
                          first_response_warning_sent=True)

    def claim_first_response_warnings(
        self, uow: UnitOfWork, now: datetime, lead: timedelta, urgent_lead: timedelta,
        limit: int, exclude: Collection[int],
    ) -> list[Case]:
        session = _session(uow)
        due = [
            *self._unanswered(),
            CaseRow.first_response_warning_sent.is_(False),
            CaseRow.first_response_due_at <= now + max(lead, urgent_lead),
            CaseRow.first_response_due_at > now,  # past it: the breach sweep's
            or_(
                and_(CaseRow.urgent.is_(False), CaseRow.first_response_due_at <= now + lead),
                and_(CaseRow.urgent.is_(True), CaseRow.first_response_due_at <= now + urgent_lead),
            ),
        ]
        candidates = (select(CaseRow.id).where(*due).order_by(CaseRow.first_response_due_at)
                      .limit(limit))
        return self._flag(session, candidates, due, exclude, first_response_warning_sent=True)

    def claim_evaluation_expiries(self, uow: UnitOfWork, resolved_since: datetime,
                                  resolved_before: datetime, now: datetime, limit: int,
                                  exclude: Collection[int]) -> list[Case]:
        session = _session(uow)
        source = evaluation_expiry_candidates(resolved_since, resolved_before, now, limit,
                                              exclude)
        insert = postgresql.insert if _is_pg(session) else sqlite.insert
        stmt = (insert(SweepMarkRow)
                .from_select(["case_id", "kind", "due_at", "created_at"], source)
                .on_conflict_do_nothing()
                .returning(SweepMarkRow.case_id))
        # The unique (case_id, kind, due_at) key is the claim: a concurrent sweeper's insert
        # waits for ours and then does nothing.
        ids = list(session.scalars(stmt).all())
        return self._load(session, ids)

    # Digest ---------------------------------------------------------------------------------
    def digest_cases(self, uow: UnitOfWork, statuses: Sequence[str]) -> list[Case]:
        session = _session(uow)
        rows = session.scalars(select(CaseRow).where(CaseRow.status.in_(list(statuses)))
                               .order_by(CaseRow.id))
        return [case_from_row(r) for r in rows]

    def digest_evaluations(self, uow: UnitOfWork, since: datetime,
                           until: datetime) -> list[tuple[Case, Evaluation]]:
        session = _session(uow)
        rows = session.execute(
            select(CaseRow, EvaluationRow).join(EvaluationRow, EvaluationRow.case_id == CaseRow.id)
            .where(EvaluationRow.created_at >= since, EvaluationRow.created_at < until)
            .order_by(EvaluationRow.created_at, EvaluationRow.id))
        return [(case_from_row(c), evaluation_from_row(e)) for c, e in rows]

    # Job runs -------------------------------------------------------------------------------
    def ensure_job(self, uow: UnitOfWork, name: str, initial_slot: datetime | None) -> bool:
        session = _session(uow)
        insert = postgresql.insert if _is_pg(session) else sqlite.insert
        created = session.scalars(
            insert(JobRunRow).values(name=name, last_slot=initial_slot, last_count=0)
            .on_conflict_do_nothing().returning(JobRunRow.name)).first()
        return created is not None

    def claim_job_slot(self, uow: UnitOfWork, name: str, slot: datetime,
                       now: datetime) -> ClaimedSlot | None:
        session = _session(uow)
        # The row lock (SQLite: the write transaction) holds a second process here until we
        # commit; it then reads our slot and claims nothing: one run per slot. The slot read
        # under the lock is where this run's window starts.
        previous = session.scalars(
            select(JobRunRow.last_slot).where(JobRunRow.name == name).with_for_update()).first()
        if previous is not None and previous >= slot:
            return None
        claimed = session.scalars(
            update(JobRunRow)
            .where(JobRunRow.name == name,
                   or_(JobRunRow.last_slot.is_(None), JobRunRow.last_slot < slot))
            .values(last_slot=slot, last_run_at=now)
            .returning(JobRunRow.name)
            .execution_options(synchronize_session=False)).first()
        return ClaimedSlot(previous) if claimed is not None else None

    def record_job_run(self, uow: UnitOfWork, name: str, now: datetime, count: int) -> None:
        session = _session(uow)
        self.ensure_job(uow, name, None)
        session.execute(update(JobRunRow).where(JobRunRow.name == name)
                        .values(last_run_at=now, last_count=count)
                        .execution_options(synchronize_session=False))

    def job_runs(self, uow: UnitOfWork) -> dict[str, dict[str, Any]]:
        session = _session(uow)
        return {
            row.name: {"last_slot": row.last_slot, "last_run_at": row.last_run_at,
                       "last_count": row.last_count}
            for row in session.scalars(select(JobRunRow).order_by(JobRunRow.name))
        }


def evaluation_expiry_candidates(
    resolved_since: datetime, resolved_before: datetime, now: datetime, limit: int,
    exclude: Collection[int],
) -> Select[int, str, datetime | None, datetime]:
    """The marks to insert for unrated cases, resolved or closed, whose window closed: a range
    of ``ix_cases_resolved`` per status.

    A closed case keeps its ``resolved_at``, and its rating is open until the window ends, so
    closed cases count too; a mark is keyed on the resolution it ends (a case resolved again
    gets a new window). The lower bound keeps the range to recent resolutions: the closed
    cases of every year would otherwise be read again on each sweep.
    """
    # Probes of one row each, not NOT EXISTS: PostgreSQL turns NOT EXISTS into an anti-join,
    # and with a week of recent resolutions it sorted every expiry mark ever written (a
    # sequential scan of sweep_marks) to merge them; a LIMIT 1 subquery stays one lookup in
    # the unique (case_id, kind, due_at) key per candidate, on both databases.
    marked = (select(literal(1)).where(
        SweepMarkRow.case_id == CaseRow.id,
        SweepMarkRow.kind == MARK_EVALUATION_EXPIRED,
        SweepMarkRow.due_at == CaseRow.resolved_at,
    ).limit(1).scalar_subquery())
    rated = (select(literal(1)).where(EvaluationRow.case_id == CaseRow.id)
             .limit(1).scalar_subquery())
    source = (
        select(CaseRow.id, literal(MARK_EVALUATION_EXPIRED), CaseRow.resolved_at,
               literal(now, SweepMarkRow.created_at.type))
        .where(CaseRow.resolved_at > resolved_since, CaseRow.resolved_at <= resolved_before,
               CaseRow.status.in_(EVALUATION_STATUSES), marked.is_(None), rated.is_(None))
        .order_by(CaseRow.resolved_at).limit(limit))
    if exclude:
        source = source.where(CaseRow.id.not_in(list(exclude)))
    return source
