"""The scheduler's rules as sweeps over case state.

Nothing here remembers what it has done in memory: every sweep asks storage to *claim* the
cases that are due (a conditional UPDATE, or ``SELECT ... FOR UPDATE SKIP LOCKED``) and, in the
same transaction, writes the case events and queues the outbox items the rule causes. So
several processes sweeping one PostgreSQL never act on a case twice, and a process that was
down simply finds everything that fell due meanwhile on its next sweep.

Jobs:
- seller reminders for ``pending`` cases (24 h and 72 h by default) with "reply" and
  "keep open" buttons; agents' thread notes each one;
- auto-close of pending cases at ``auto_close_at`` (7 days; "keep open" moves it) and of
  resolved cases the seller did not answer (configurable);
- first-response warning at 75% of the target (24 h, urgent 4 h) and a breach alert at the
  deadline, to the case's thread and its channel; the clock pauses while pending
  (``CaseService.apply_status`` moves the deadline when the case leaves pending);
- evaluation buttons expire after the evaluation window (4 days);
- a daily digest per Slack channel (open, overdue and pending cases with thread links).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from bot import domain as d
from bot import i18n
from bot import outbox as ob
from bot.case_rules.preferences import owner_speaking
from bot.digest import DigestJob, DigestSections
from bot.domain import Case
from bot.messages import Button, Reply
from bot.outbox_payloads import SellerEditPayload
from bot.ports import UnitOfWork
from bot.relay import NOTE_AUTHOR
from bot.sweep_base import BatchNeeds
from bot.sweep_batch import BatchUnitOfWork
from bot.sweep_config import ACTOR, SWEEPS, SchedulerConfig, span, stamp
from bot.sweep_store import SweepStore
from bot.texts import case_title, t

__all__ = ["EVALUATION_EXPIRY_LOOK_BACK", "SWEEPS", "DigestSections", "SchedulerConfig",
           "SweepStore", "Sweeper"]

log = logging.getLogger(__name__)

# How long after its window ended a rating prompt still gets its expiry: a scheduler down for
# longer leaves it (a late press is refused anyway), and each sweep reads only the cases
# resolved in this span, not every closed case there ever was.
EVALUATION_EXPIRY_LOOK_BACK = timedelta(days=7)


class Sweeper(DigestJob):
    """Runs the scheduler's rules. Each method takes ``now`` (default: the service's clock),
    works in transactions of ``config.batch_size`` cases and returns how many it acted on."""

    def remind_pending(self, now: datetime | None = None) -> int:
        """Reminders to sellers of pending cases. The highest level due goes first, so a case
        found late (the scheduler was down) gets one reminder, not a burst."""
        now = self._now(now)
        total = 0
        for level in range(len(self.config.reminder_hours), 0, -1):
            total += self._remind_level(level, now)
        return total

    def _remind_level(self, level: int, now: datetime) -> int:
        hours = self.config.reminder_hours[level - 1]
        before = now - timedelta(hours=hours)
        return self._batches(
            f"reminders.{level}", now,
            lambda uow, limit, skip: self.store.claim_reminders(
                uow, level, before, now, limit, skip),
            lambda uow, case: self._remind(uow, case, level, hours, now),
            BatchNeeds(chats=True),
        )

    def _remind(self, uow: UnitOfWork, case: Case, level: int, hours: float,
                now: datetime) -> None:
        close_on = stamp(case.auto_close_at)
        with owner_speaking(uow, case):  # the seller's language, date and time zone
            buttons = [Button(t("sched.button_reply"), f"reply:{case.number}")]
            if case.keep_open_count < self.service.rules.keep_open_max:
                buttons.append(Button(t("sched.button_keep_open"), f"keep_open:{case.number}"))
            reply = Reply(t("sched.reminder", number=case.number, title=case_title(case),
                            close_on=i18n.when(case.auto_close_at, year=True)
                            if case.auto_close_at else "?"),
                          tuple(buttons), case_number=case.number)
        queued = self.relay.to_seller(uow, case, reply, now)
        uow.events.add(case.id, "reminder", d.SYSTEM, ACTOR, None, str(level),
                       None if queued else "undeliverable", now)
        if queued is None:
            note = t("sched.thread_reminder_undelivered", level=level)
        else:
            note = t("sched.thread_reminder", level=level, hours=f"{hours:g}", close_on=close_on)
        self.relay.post_in_thread(uow, case, note, NOTE_AUTHOR, now)

    def auto_close(self, now: datetime | None = None) -> int:
        """Close pending cases the seller did not answer by ``auto_close_at`` (kept-open cases
        have a later one) and resolved cases with no reply by theirs."""
        now = self._now(now)
        return self._batches(
            "auto_close", now,
            lambda uow, limit, skip: self.store.claim_auto_close(uow, now, limit, skip),
            lambda uow, case: self._close(uow, case, now),
            BatchNeeds(chats=True, cards=True),
        )

    def _close(self, uow: UnitOfWork, case: Case, now: datetime) -> None:
        if case.status == d.PENDING:
            since = case.pending_since or case.status_changed_at
            days = max(1, round((now - since) / timedelta(days=1)))
            # CaseService's own status change: the status event, the card update and the
            # thread note "Waiting for you -> Closed by scheduler (reason)".
            closed = self.service.apply_status(
                uow, case, d.CLOSED, d.SYSTEM, ACTOR, t("sched.reason_pending", days=days), now,
                notify_seller=False)
            with owner_speaking(uow, case):
                text = t("sched.closed_pending", number=case.number, days=days,
                         reopen_days=self.service.rules.reopen_days)
            self.relay.to_seller(uow, closed, Reply(text, case_number=case.number), now)
        else:
            days = max(1, round((now - (case.resolved_at or case.status_changed_at))
                                / timedelta(days=1)))
            self.service.apply_status(
                uow, case, d.CLOSED, d.SYSTEM, ACTOR, t("sched.reason_resolved", days=days), now)

    # First response (rule 11) --------------------------------------------------------------
    def first_response(self, now: datetime | None = None) -> int:
        """Breach alerts first (so a case found past its deadline gets no stale warning), then
        warnings at ``first_response_warning_ratio`` of the target."""
        now = self._now(now)
        breaches = self._batches(
            "first_response.breach", now,
            lambda uow, limit, skip: self.store.claim_first_response_breaches(
                uow, now, limit, skip),
            lambda uow, case: self._breach(uow, case, now),
            BatchNeeds(threads=True),  # the channel's alert links the case's thread
        )
        warnings = self._batches(
            "first_response.warning", now,
            lambda uow, limit, skip: self.store.claim_first_response_warnings(
                uow, now, self.config.warning_lead, self.config.urgent_warning_lead, limit, skip),
            lambda uow, case: self._warn(uow, case, now),
            BatchNeeds(threads=True),
        )
        return breaches + warnings

    def _warn(self, uow: UnitOfWork, case: Case, now: datetime) -> None:
        due = case.first_response_due_at
        assert due is not None
        left = span(due - now)
        uow.events.add(case.id, "first_response_warning", d.SYSTEM, ACTOR, None, due.isoformat(),
                       None, now)
        self.relay.post_in_thread(uow, case, t("sched.thread_fr_warning", due=stamp(due), left=left),
                                  NOTE_AUTHOR, now)
        thread = self._threads(uow, [case]).get(case.id)
        self._channel_post(uow, self._channel_of(case, thread), t(
            "sched.channel_fr_warning", link=self._link(case, thread), title=case.title,
            due=stamp(due), left=left), now)
        # Escalation: the next member of the agents' group takes it (bot/round_robin.py).
        self.relay.request_assignment(uow, case, ob.ASSIGN_ESCALATION, now)

    def _breach(self, uow: UnitOfWork, case: Case, now: datetime) -> None:
        due = case.first_response_due_at
        assert due is not None
        uow.events.add(case.id, "first_response_breach", d.SYSTEM, ACTOR, None, due.isoformat(),
                       None, now)
        self.relay.post_in_thread(uow, case, t("sched.thread_fr_breach", opened=stamp(case.created_at),
                                       due=stamp(due)), NOTE_AUTHOR, now)
        thread = self._threads(uow, [case]).get(case.id)
        self._channel_post(uow, self._channel_of(case, thread), t(
            "sched.channel_fr_breach", link=self._link(case, thread), title=case.title,
            due=stamp(due)),
            now)

    # Evaluation window (rule 6) ------------------------------------------------------------
    def expire_evaluations(self, now: datetime | None = None) -> int:
        """When the evaluation window of a resolved case closes unrated, record it and edit the
        delivered rating prompt so its buttons go away (CaseService.evaluate refuses late
        ratings anyway); a case closed inside its window too, as it stays rateable until the
        window ends. The case itself closes at its ``auto_close_at``."""
        now = self._now(now)
        before = now - timedelta(days=self.config.evaluation_days)
        since = before - EVALUATION_EXPIRY_LOOK_BACK
        return self._batches(
            "evaluation", now,
            lambda uow, limit, skip: self.store.claim_evaluation_expiries(
                uow, since, before, now, limit, skip),
            lambda uow, case: self._expire_evaluation(uow, case, now),
            BatchNeeds(chats=True, prompts=True),  # chats: the seller's language
        )

    def _expire_evaluation(self, uow: BatchUnitOfWork, case: Case, now: datetime) -> None:
        resolved = case.resolved_at or case.status_changed_at
        uow.events.add(case.id, "evaluation_expired", d.SYSTEM, ACTOR, None, None, None, now)
        ref = uow.reads.prompt_refs.get(case.id)
        if ref is None:
            return  # never delivered (or the platform gave no message id): nothing to edit
        destination, address, message_id = ref
        with owner_speaking(uow, case):
            text = t("sched.evaluation_expired", number=case.number,
                     closed_on=i18n.day(resolved + timedelta(days=self.config.evaluation_days)))
        uow.outbox.add(destination, ob.SELLER_EDIT, SellerEditPayload(
            address=address, platform_message_id=message_id, text=text,
        ), case.id, f"{destination}:chat:{address}", now)

    # All sweeps ----------------------------------------------------------------------------
    def run_sweep(self, name: str, now: datetime | None = None) -> int:
        """Run one sweep by name (see ``SWEEPS``) and record the run in ``job_runs``."""
        now = self._now(now)
        runs: dict[str, Callable[[datetime], int]] = {
            "auto_close": self.auto_close, "reminders": self.remind_pending,
            "first_response": self.first_response, "evaluation": self.expire_evaluations,
        }
        count = runs[name](now)
        with self.service.uow() as uow:
            self.store.record_job_run(uow, f"sweep.{name}", now, count)
            uow.commit()
        if count:
            log.info("sweep %s acted on %d case(s)", name, count)
        return count

    def run_sweeps(self, now: datetime | None = None) -> dict[str, int]:
        """Every sweep once, auto-close first (a case closing now needs no reminder)."""
        now = self._now(now)
        return {name: self.run_sweep(name, now) for name in SWEEPS}
