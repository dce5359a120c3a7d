"""The scheduler's rules as sweeps over case state (issue 6).

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
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, time, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from bot import domain as d
from bot import outbox as ob
from bot.cases import CaseRules, CaseService
from bot.clock import Clock
from bot.domain import Case
from bot.labels import CASE_TYPES
from bot.messages import Button, Reply
from bot.ports import UnitOfWork
from bot.rating_digest import RatedCase, ratings_section
from bot.relay import Relay
from bot.texts import register, t

log = logging.getLogger(__name__)

ACTOR = "scheduler"  # actor_ref of everything the sweeps do
AUTHOR = "Frontdoor"  # author of the thread notes
JOB_DIGEST = "digest"
MARK_EVALUATION_EXPIRED = "evaluation_expired"
SWEEPS: tuple[str, ...] = ("auto_close", "reminders", "first_response", "evaluation")

register({
    "sched.reminder": (
        "⏰ {number} ({title}) is still waiting for your answer. Please reply here with what "
        "we asked for; without an answer it will be closed on {close_on}."
    ),
    "sched.button_reply": "Reply now",
    "sched.button_keep_open": "I need more time",
    "sched.thread_reminder": (
        "⏰ Reminder {level} sent to the seller (waiting {hours} h; closes {close_on} without "
        "an answer)"
    ),
    "sched.thread_reminder_undelivered": (
        "⏰ Reminder {level} due, but the seller's chat does not accept messages"
    ),
    "sched.reason_pending": "no answer from the seller for {days} days",
    "sched.reason_resolved": "resolved {days} days ago with no reply from the seller",
    "sched.closed_pending": (
        "📁 {number} was closed because we did not hear back from you within {days} days. "
        "You can reopen it any time."
    ),
    "sched.thread_fr_warning": (
        "⏳ First response due {due} ({left} left): nobody has answered the seller yet"
    ),
    "sched.channel_fr_warning": "⏳ {link} {title}: first response due {due} ({left} left)",
    "sched.thread_fr_breach": (
        "🚨 First-response target missed: opened {opened}, due {due}, no answer yet"
    ),
    "sched.channel_fr_breach": "🚨 {link} {title}: first-response target missed (due {due})",
    "sched.evaluation_expired": "How did we do on {number}? (Rating closed on {closed_on}.)",
    "sched.digest_title": "Daily digest {date}",
    "sched.digest_summary": (
        "📋 Daily digest {date}: {open} open, {overdue} overdue, {pending} waiting for the seller"
    ),
    "sched.digest_overdue": "*🚨 Overdue (first response missed): {count}*",
    "sched.digest_open": "*📂 Open: {count}*",
    "sched.digest_pending": "*⏳ Waiting for the seller: {count}*",
    "sched.digest_none": "_none_",
    "sched.digest_more": "…and {count} more",
    "sched.digest_line_overdue": "• {link} {title}{urgent}: due {due}",
    "sched.digest_line_open": "• {link} {title}{urgent}: opened {opened}",
    "sched.digest_line_pending": "• {link} {title}: waiting since {since}",
})

_SLACK_SECTION_LIMIT = 2900  # Slack refuses section text over 3000 characters


def _stamp(when: datetime | None) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") if when else "?"


def _span(delta: timedelta) -> str:
    """A short human duration: "45 min", "5 h 30 min"."""
    minutes = max(0, int(delta.total_seconds() // 60))
    hours, minutes = divmod(minutes, 60)
    if not hours:
        return f"{minutes} min"
    return f"{hours} h {minutes} min" if minutes else f"{hours} h"


@dataclass(frozen=True)
class SchedulerConfig:
    """Times and thresholds of the scheduler. ``from_settings`` reads them from
    `frontdoor.settings.Settings` (names in the field comments), defaults otherwise."""

    reminder_hours: tuple[float, ...] = (24.0, 72.0)  # FRONTDOOR_REMINDER_HOURS="24,72"
    pending_auto_close_days: int = 7  # FRONTDOOR_PENDING_AUTO_CLOSE_DAYS
    resolved_auto_close_days: int = 7  # FRONTDOOR_RESOLVED_AUTO_CLOSE_DAYS
    first_response_hours: int = 24  # FRONTDOOR_FIRST_RESPONSE_HOURS (exists)
    first_response_urgent_hours: int = 4  # FRONTDOOR_FIRST_RESPONSE_URGENT_HOURS (exists)
    first_response_warning_ratio: float = 0.75  # FRONTDOOR_FIRST_RESPONSE_WARNING_RATIO
    evaluation_days: int = 4  # FRONTDOOR_EVALUATION_DAYS (exists)
    digest_time: time = time(9, 0)  # FRONTDOOR_DIGEST_TIME="09:00"
    digest_timezone: str = "Europe/London"  # FRONTDOOR_DIGEST_TIMEZONE
    digest_max_items: int = 15  # FRONTDOOR_DIGEST_MAX_ITEMS, per section
    # A daily slot is at most 24 h old, so by default a missed digest is always posted on
    # start (late rather than lost); lower it to drop digests that have gone stale.
    digest_catch_up_hours: float = 24.0  # FRONTDOOR_DIGEST_CATCH_UP_HOURS
    sweep_interval_seconds: float = 60.0  # FRONTDOOR_SWEEP_INTERVAL_SECONDS
    batch_size: int = 500  # FRONTDOOR_SWEEP_BATCH_SIZE: cases per transaction
    slack_link_base: str = "https://slack.com"  # SLACK_LINK_BASE (workspace URL)

    def __post_init__(self) -> None:
        if not self.reminder_hours or list(self.reminder_hours) != sorted(self.reminder_hours):
            raise ValueError("reminder_hours must be a non-empty ascending list")
        if not 0 < self.first_response_warning_ratio < 1:
            raise ValueError("first_response_warning_ratio must be between 0 and 1")
        if self.batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        ZoneInfo(self.digest_timezone)  # fail at start-up, not at 09:00

    @property
    def warning_lead(self) -> timedelta:
        """How long before the first-response deadline the warning goes (non-urgent)."""
        return timedelta(hours=self.first_response_hours * (1 - self.first_response_warning_ratio))

    @property
    def urgent_warning_lead(self) -> timedelta:
        return timedelta(
            hours=self.first_response_urgent_hours * (1 - self.first_response_warning_ratio))

    def digest_slot(self, now: datetime, tolerance: timedelta = timedelta(0)) -> datetime:
        """The latest scheduled digest time at or before ``now + tolerance``, in UTC (the
        local wall-clock time, so it follows daylight saving)."""
        zone = ZoneInfo(self.digest_timezone)
        local = (now + tolerance).astimezone(zone)
        slot = datetime.combine(local.date(), self.digest_time, tzinfo=zone)
        if slot > local:
            slot = datetime.combine(local.date() - timedelta(days=1), self.digest_time,
                                    tzinfo=zone)
        return slot.astimezone(UTC)

    def case_rules(self, rules: CaseRules) -> CaseRules:
        """``rules`` with the deadlines CaseService stores on cases taken from this config, so
        what the sweeps enforce and what the case shows agree."""
        return replace(
            rules, pending_auto_close_days=self.pending_auto_close_days,
            resolved_auto_close_days=self.resolved_auto_close_days,
            first_response_hours=self.first_response_hours,
            first_response_urgent_hours=self.first_response_urgent_hours,
            evaluation_days=self.evaluation_days,
        )

    @classmethod
    def from_settings(cls, settings: object) -> SchedulerConfig:
        """Read ``frontdoor_*`` attributes of ``settings``; missing ones keep their default."""
        base = cls()
        values: dict[str, Any] = {}

        def get(name: str) -> Any:
            return getattr(settings, name, None)

        hours = get("frontdoor_reminder_hours")
        if hours is not None:
            items = hours.split(",") if isinstance(hours, str) else hours
            values["reminder_hours"] = tuple(float(h) for h in items if str(h).strip())
        digest_time = get("frontdoor_digest_time")
        if digest_time is not None:
            values["digest_time"] = (digest_time if isinstance(digest_time, time)
                                     else time.fromisoformat(str(digest_time)))
        simple = {
            "pending_auto_close_days": int, "resolved_auto_close_days": int,
            "first_response_hours": int, "first_response_urgent_hours": int,
            "first_response_warning_ratio": float, "evaluation_days": int,
            "digest_timezone": str, "digest_max_items": int, "digest_catch_up_hours": float,
            "sweep_interval_seconds": float,
        }
        for name, kind in simple.items():
            value = get(f"frontdoor_{name}")
            if value is not None:
                values[name] = kind(value)
        if get("frontdoor_sweep_batch_size") is not None:
            values["batch_size"] = int(get("frontdoor_sweep_batch_size"))
        if get("slack_link_base"):
            values["slack_link_base"] = str(get("slack_link_base")).rstrip("/")
        return replace(base, **values)


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
        warned yet; sets ``fr_warning_sent``."""
        ...

    def claim_evaluation_expiries(self, uow: UnitOfWork, resolved_before: datetime,
                                  now: datetime, limit: int,
                                  exclude: Collection[int]) -> list[Case]:
        """Resolved cases, not evaluated, resolved before ``resolved_before``, whose expiry
        for this resolution was not recorded yet; records it."""
        ...

    def evaluation_prompt_ref(self, uow: UnitOfWork, case: Case) -> tuple[str, str, str] | None:
        """(destination, address, platform message id) of the delivered rating prompt."""
        ...

    def digest_cases(self, uow: UnitOfWork, statuses: Sequence[str]) -> list[Case]: ...

    def digest_evaluations(self, uow: UnitOfWork, since: datetime,
                           until: datetime) -> list[RatedCase]:
        """Cases rated at or after ``since`` and before ``until``, oldest rating first."""
        ...

    def ensure_job(self, uow: UnitOfWork, name: str, initial_slot: datetime | None) -> bool:
        """Create the job's row if missing (True if created)."""
        ...

    def claim_job_slot(self, uow: UnitOfWork, name: str, slot: datetime, now: datetime) -> bool:
        """Move the job's last slot to ``slot`` if it is earlier; True if this call did."""
        ...

    def record_job_run(self, uow: UnitOfWork, name: str, now: datetime, count: int) -> None: ...

    def job_runs(self, uow: UnitOfWork) -> dict[str, dict[str, Any]]: ...


@dataclass(frozen=True)
class DigestSections:
    overdue: list[Case]
    open: list[Case]
    pending: list[Case]


class Sweeper:
    """Runs the scheduler's rules. Each method takes ``now`` (default: the service's clock),
    works in transactions of ``config.batch_size`` cases and returns how many it acted on."""

    def __init__(self, service: CaseService, store: SweepStore,
                 config: SchedulerConfig | None = None) -> None:
        self.service = service
        self.store = store
        self.config = config or SchedulerConfig()

    @property
    def relay(self) -> Relay:
        return self.service.relay

    @property
    def clock(self) -> Clock:
        return self.service.clock

    # Machinery -----------------------------------------------------------------------------
    def _batches(
        self, name: str,
        claim: Callable[[UnitOfWork, int, Collection[int]], list[Case]],
        act: Callable[[UnitOfWork, Case], None],
    ) -> int:
        """Claim and act in one transaction per batch until nothing is due.

        A case whose action raises would roll its whole batch back on every run; so after a
        failure the sweep goes on one case per transaction and skips (and logs) the bad one.
        """
        done = 0
        limit = self.config.batch_size
        skipped: set[int] = set()
        while True:
            current: list[int] = []
            try:
                with self.service.uow() as uow:
                    cases = claim(uow, limit, skipped)
                    for case in cases:
                        current.append(case.id)
                        act(uow, case)
                    uow.commit()
            except Exception:
                if limit > 1:
                    log.warning("sweep %s: a batch failed; retrying case by case", name,
                                exc_info=True)
                    limit = 1
                    continue
                if not current:
                    raise  # the claim itself failed: nothing to skip, let the job report it
                log.exception("sweep %s: case id %s failed; skipped in this run", name,
                              current[-1])
                skipped.add(current[-1])
                continue
            done += len(cases)
            if len(cases) < limit:
                return done

    def _now(self, now: datetime | None) -> datetime:
        return now if now is not None else self.clock.now()

    def _link(self, case: Case) -> str:
        """A Slack link to the case's thread, or its number before the parent is posted."""
        if case.slack_channel and case.slack_ts:
            url = (f"{self.config.slack_link_base}/archives/{case.slack_channel}/"
                   f"p{case.slack_ts.replace('.', '')}")
            return f"<{url}|{case.number}>"
        return case.number

    def _channel_of(self, case: Case) -> str | None:
        return case.slack_channel or self.relay.config.channel_for(case.case_type)

    def _channel_post(self, uow: UnitOfWork, channel: str | None, text: str, now: datetime,
                      blocks: list[dict[str, Any]] | None = None) -> int | None:
        """Queue a top-level message in an agents' channel (no agents platform: nothing)."""
        dest = self.relay.config.agents_destination
        if dest is None or channel is None:
            return None
        payload: dict[str, Any] = {"channel": channel, "text": text}
        if blocks:
            payload["blocks"] = blocks
        return uow.outbox.add(dest, ob.CHANNEL_POST, payload, None, f"{dest}:channel:{channel}",
                              now)

    # Seller reminders and auto-close -------------------------------------------------------
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
            f"reminders.{level}",
            lambda uow, limit, skip: self.store.claim_reminders(
                uow, level, before, now, limit, skip),
            lambda uow, case: self._remind(uow, case, level, hours, now),
        )

    def _remind(self, uow: UnitOfWork, case: Case, level: int, hours: float,
                now: datetime) -> None:
        close_on = _stamp(case.auto_close_at)
        buttons = [Button(t("sched.button_reply"), f"reply:{case.number}")]
        if case.keep_open_count < self.service.rules.keep_open_max:
            buttons.append(Button(t("sched.button_keep_open"), f"keep_open:{case.number}"))
        reply = Reply(t("sched.reminder", number=case.number, title=case.title,
                        close_on=close_on), tuple(buttons), case_number=case.number)
        queued = self.relay.to_seller(uow, case, reply, now)
        uow.events.add(case.id, "reminder", d.SYSTEM, ACTOR, None, str(level),
                       None if queued else "undeliverable", now)
        if queued is None:
            note = t("sched.thread_reminder_undelivered", level=level)
        else:
            note = t("sched.thread_reminder", level=level, hours=f"{hours:g}", close_on=close_on)
        self.relay.thread(uow, case, note, AUTHOR, now)

    def auto_close(self, now: datetime | None = None) -> int:
        """Close pending cases the seller did not answer by ``auto_close_at`` (kept-open cases
        have a later one) and resolved cases with no reply by theirs."""
        now = self._now(now)
        return self._batches(
            "auto_close",
            lambda uow, limit, skip: self.store.claim_auto_close(uow, now, limit, skip),
            lambda uow, case: self._close(uow, case, now),
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
            self.relay.to_seller(uow, closed, Reply(
                t("sched.closed_pending", number=case.number, days=days),
                case_number=case.number), now)
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
            "first_response.breach",
            lambda uow, limit, skip: self.store.claim_first_response_breaches(
                uow, now, limit, skip),
            lambda uow, case: self._breach(uow, case, now),
        )
        warnings = self._batches(
            "first_response.warning",
            lambda uow, limit, skip: self.store.claim_first_response_warnings(
                uow, now, self.config.warning_lead, self.config.urgent_warning_lead, limit, skip),
            lambda uow, case: self._warn(uow, case, now),
        )
        return breaches + warnings

    def _warn(self, uow: UnitOfWork, case: Case, now: datetime) -> None:
        due = case.first_response_due_at
        assert due is not None
        left = _span(due - now)
        uow.events.add(case.id, "first_response_warning", d.SYSTEM, ACTOR, None, due.isoformat(),
                       None, now)
        self.relay.thread(uow, case, t("sched.thread_fr_warning", due=_stamp(due), left=left),
                          AUTHOR, now)
        self._channel_post(uow, self._channel_of(case), t(
            "sched.channel_fr_warning", link=self._link(case), title=case.title, due=_stamp(due),
            left=left), now)

    def _breach(self, uow: UnitOfWork, case: Case, now: datetime) -> None:
        due = case.first_response_due_at
        assert due is not None
        uow.events.add(case.id, "first_response_breach", d.SYSTEM, ACTOR, None, due.isoformat(),
                       None, now)
        self.relay.thread(uow, case, t("sched.thread_fr_breach", opened=_stamp(case.created_at),
                                       due=_stamp(due)), AUTHOR, now)
        self._channel_post(uow, self._channel_of(case), t(
            "sched.channel_fr_breach", link=self._link(case), title=case.title, due=_stamp(due)),
            now)

    # Evaluation window (rule 6) ------------------------------------------------------------
    def expire_evaluations(self, now: datetime | None = None) -> int:
        """When the evaluation window of a resolved case closes unrated, record it and edit the
        delivered rating prompt so its buttons go away (CaseService.evaluate refuses late
        ratings anyway). The case itself closes at its ``auto_close_at``."""
        now = self._now(now)
        before = now - timedelta(days=self.config.evaluation_days)
        return self._batches(
            "evaluation",
            lambda uow, limit, skip: self.store.claim_evaluation_expiries(
                uow, before, now, limit, skip),
            lambda uow, case: self._expire_evaluation(uow, case, now),
        )

    def _expire_evaluation(self, uow: UnitOfWork, case: Case, now: datetime) -> None:
        resolved = case.resolved_at or case.status_changed_at
        uow.events.add(case.id, "evaluation_expired", d.SYSTEM, ACTOR, None, None, None, now)
        ref = self.store.evaluation_prompt_ref(uow, case)
        if ref is None:
            return  # never delivered (or the platform gave no message id): nothing to edit
        destination, address, message_id = ref
        closed_on = _stamp(resolved + timedelta(days=self.config.evaluation_days))
        uow.outbox.add(destination, ob.SELLER_EDIT, {
            "address": address, "platform_message_id": message_id,
            "text": t("sched.evaluation_expired", number=case.number, closed_on=closed_on),
        }, case.id, f"{destination}:chat:{address}", now)

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

    # Daily digest --------------------------------------------------------------------------
    def digest_slot(self, now: datetime, tolerance: timedelta = timedelta(0)) -> datetime:
        return self.config.digest_slot(now, tolerance)

    def digest(self, now: datetime | None = None, slot: datetime | None = None,
               on_start: bool = False) -> int:
        """Post the digest for ``slot`` (default: the latest one) unless some process already
        did; return the number of channel messages queued.

        ``on_start``: catching up after a restart. On the very first start nothing was missed
        (the slot is only recorded), and a slot older than ``digest_catch_up_hours`` is left
        for the next scheduled one.
        """
        now = self._now(now)
        slot = slot or self.digest_slot(now)
        if self.relay.config.agents_destination is None:
            return 0
        stale = now - slot > timedelta(hours=self.config.digest_catch_up_hours)
        with self.service.uow() as uow:
            created = self.store.ensure_job(uow, JOB_DIGEST, slot if on_start else None)
            if (on_start and (created or stale)) or not self.store.claim_job_slot(
                    uow, JOB_DIGEST, slot, now):
                uow.commit()
                return 0
            cases = self.store.digest_cases(uow, (d.OPEN, d.INVESTIGATING, d.PENDING))
            # Ratings given since the previous slot: each is counted in one digest.
            since = self.digest_slot(slot - timedelta(seconds=1))
            rated = self.store.digest_evaluations(uow, since, slot)
            posts = self._queue_digest(uow, cases, now, rated, since)
            self.store.record_job_run(uow, JOB_DIGEST, now, posts)
            uow.commit()
        log.info("digest for %s: %d channel message(s)", slot.isoformat(), posts)
        return posts

    def digest_channels(self, cases: Iterable[Case]) -> dict[str, list[Case]]:
        """Cases by channel; every configured channel appears, even with nothing to list."""
        channel_for = self.relay.config.channel_for
        by_channel: dict[str, list[Case]] = {}
        for ch in [channel_for(None), *(channel_for(ct) for ct in CASE_TYPES)]:
            if ch:
                by_channel.setdefault(ch, [])
        for case in cases:
            ch = self._channel_of(case)
            if ch:
                by_channel.setdefault(ch, []).append(case)
        return by_channel

    @staticmethod
    def digest_sections(cases: Iterable[Case], now: datetime) -> DigestSections:
        overdue: list[Case] = []
        open_: list[Case] = []
        pending: list[Case] = []
        for case in cases:
            if case.status == d.PENDING:
                pending.append(case)
            elif (case.first_response_at is None and case.first_response_due_at is not None
                  and case.first_response_due_at <= now):
                overdue.append(case)
            else:
                open_.append(case)
        far = datetime.max.replace(tzinfo=UTC)
        overdue.sort(key=lambda c: (c.first_response_due_at or far, c.id))
        open_.sort(key=lambda c: (not c.urgent, c.created_at, c.id))
        pending.sort(key=lambda c: (c.pending_since or far, c.id))
        return DigestSections(overdue, open_, pending)

    def _queue_digest(self, uow: UnitOfWork, cases: Sequence[Case], now: datetime,
                      rated: Sequence[RatedCase] = (), since: datetime | None = None) -> int:
        zone = ZoneInfo(self.config.digest_timezone)
        date = now.astimezone(zone).strftime("%a %d %b %Y")

        def local(when: datetime | None) -> str:
            return when.astimezone(zone).strftime("%d %b %H:%M") if when else "?"

        def title(case: Case) -> str:
            return case.title if len(case.title) <= 60 else case.title[:59] + "…"

        channels = self.digest_channels(cases)
        rated_in: dict[str, list[RatedCase]] = {}
        for pair in rated:
            ch = self._channel_of(pair[0])
            if ch:
                rated_in.setdefault(ch, []).append(pair)
                channels.setdefault(ch, [])
        posts = 0
        for channel, listed in sorted(channels.items()):
            sec = self.digest_sections(listed, now)
            parts = [
                (t("sched.digest_overdue", count=len(sec.overdue)), [
                    t("sched.digest_line_overdue", link=self._link(c), title=title(c),
                      urgent=" 🚨" if c.urgent else "", due=local(c.first_response_due_at))
                    for c in sec.overdue[: self.config.digest_max_items]], len(sec.overdue)),
                (t("sched.digest_open", count=len(sec.open)), [
                    t("sched.digest_line_open", link=self._link(c), title=title(c),
                      urgent=" 🚨" if c.urgent else "", opened=local(c.created_at))
                    for c in sec.open[: self.config.digest_max_items]], len(sec.open)),
                (t("sched.digest_pending", count=len(sec.pending)), [
                    t("sched.digest_line_pending", link=self._link(c), title=title(c),
                      since=local(c.pending_since))
                    for c in sec.pending[: self.config.digest_max_items]], len(sec.pending)),
                ratings_section(rated_in.get(channel, []), local(since), self._link, title,
                                self.config.digest_max_items),
            ]
            summary = t("sched.digest_summary", date=date, open=len(sec.open),
                        overdue=len(sec.overdue), pending=len(sec.pending))
            blocks: list[dict[str, Any]] = [{
                "type": "header",
                "text": {"type": "plain_text", "text": t("sched.digest_title", date=date)},
            }]
            for heading, lines, total in parts:
                blocks.append({"type": "section", "text": {
                    "type": "mrkdwn", "text": _fit(heading, lines, total)}})
            if self._channel_post(uow, channel, summary, now, blocks) is not None:
                posts += 1
        return posts


def _fit(heading: str, lines: list[str], total: int) -> str:
    """The heading and as many lines as Slack's section limit allows, then "…and N more"."""
    if not lines:
        return f"{heading}\n{t('sched.digest_none')}"
    out = [heading]
    size = len(heading)
    shown = 0
    for line in lines:
        if size + len(line) + 1 > _SLACK_SECTION_LIMIT - 40:  # leave room for the "more" line
            break
        out.append(line)
        size += len(line) + 1
        shown += 1
    if total > shown:
        out.append(t("sched.digest_more", count=total - shown))
    return "\n".join(out)
