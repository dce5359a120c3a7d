"""What the sweeps need from storage (implemented by storage.sweeps.SqlSweepStore)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from bot.domain import Case
from bot.ports import UnitOfWork
from bot.rating_digest import RatedCase
from bot.sweep_batch import BatchReads, BatchWrites


@dataclass(frozen=True)
class ClaimedSlot:
    """A job's slot this process claimed; ``previous`` is the slot the job had before (None:
    it never had one), where the window of this run starts."""

    previous: datetime | None


class SweepStore(Protocol):
    """The SQL side (storage.sweeps.SqlSweepStore). ``claim_*`` lock or mark the due cases in
    the caller's unit of work, skipping rows another sweeper holds, and return them fresh;
    ``exclude`` leaves out cases that failed earlier in this run."""

    def claim_reminders(self, uow: UnitOfWork, level: int, pending_before: datetime,
                        now: datetime, limit: int, exclude: Collection[int]) -> list[Case]:
        """Pending cases waiting since ``pending_before`` with fewer than ``level`` reminders
        and not yet due to close; sets ``reminders_sent = level``."""
        ...

    def claim_auto_close(self, uow: UnitOfWork, now: datetime, limit: int,
                         exclude: Collection[int]) -> list[Case]:
        """Pending or resolved cases with ``auto_close_at <= now``, row-locked."""
        ...

    def claim_first_response_breaches(self, uow: UnitOfWork, now: datetime, limit: int,
                                      exclude: Collection[int]) -> list[Case]:
        """Unanswered open/investigating cases past their deadline; sets both FR flags."""
        ...

    def claim_first_response_warnings(
        self, uow: UnitOfWork, now: datetime, lead: timedelta, urgent_lead: timedelta,
        limit: int, exclude: Collection[int],
    ) -> list[Case]:
        """Unanswered cases within ``lead`` (urgent: ``urgent_lead``) of the deadline, not
        warned yet; sets ``first_response_warning_sent``."""
        ...

    def claim_evaluation_expiries(self, uow: UnitOfWork, resolved_since: datetime,
                                  resolved_before: datetime, now: datetime, limit: int,
                                  exclude: Collection[int]) -> list[Case]:
        """Resolved or closed cases, not evaluated, resolved after ``resolved_since`` and at
        or before ``resolved_before``, whose expiry for this resolution was not recorded yet;
        records it."""
        ...

    def batch_reads(self, uow: UnitOfWork, cases: Sequence[Case], *, chats: bool = False,
                    cards: bool = False, prompts: bool = False,
                    threads: bool = False) -> BatchReads:
        """What the rules will read about a claimed batch, in one query per kind: ``chats``
        the identities the cases were opened from and their sellers; ``cards`` the sellers,
        the cases they reopen, their evaluations and events; ``prompts`` each case's
        delivered rating prompt; ``threads`` where each case is shown to agents."""
        ...

    def write_batch(self, uow: UnitOfWork, writes: BatchWrites) -> None:
        """Write a batch's case updates, events and outbox items in a few statements, the
        items in the order given."""
        ...

    def digest_cases(self, uow: UnitOfWork, statuses: Sequence[str]) -> list[Case]: ...

    def digest_evaluations(self, uow: UnitOfWork, since: datetime,
                           until: datetime) -> list[RatedCase]:
        """Cases rated at or after ``since`` and before ``until``, oldest rating first."""
        ...

    def ensure_job(self, uow: UnitOfWork, name: str, initial_slot: datetime | None) -> bool:
        """Create the job's row if missing (True if created)."""
        ...

    def claim_job_slot(self, uow: UnitOfWork, name: str, slot: datetime,
                       now: datetime) -> ClaimedSlot | None:
        """Move the job's last slot to ``slot`` if it is earlier (the row exists: see
        ``ensure_job``); the claim if this call did, else None."""
        ...

    def record_job_run(self, uow: UnitOfWork, name: str, now: datetime, count: int) -> None: ...

    def job_runs(self, uow: UnitOfWork) -> dict[str, dict[str, Any]]: ...
