"""The daily digest: one message per Slack channel with its open, overdue and pending cases
and the ratings since the last digest, posted once per slot whichever process gets there."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot import domain as d
from bot.case_rules.assignment import credit_counts, slack_mention
from bot.domain import Case, CaseThread
from bot.labels import CASE_TYPES
from bot.ports import UnitOfWork
from bot.rating_digest import RatedCase, ratings_section
from bot.sweep_base import SweeperBase
from bot.sweep_config import JOB_DIGEST, SLACK_SECTION_LIMIT
from bot.texts import t

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DigestSections:
    overdue: list[Case]
    open: list[Case]
    pending: list[Case]


class DigestJob(SweeperBase):
    def digest_slot(self, now: datetime, tolerance: timedelta = timedelta(0)) -> datetime:
        return self.config.digest_slot(now, tolerance)

    def digest(self, now: datetime | None = None, slot: datetime | None = None,
               catch_up: bool = False) -> int:
        """Post the digest for ``slot`` (default: the latest one) unless some process already
        did; return the number of channel messages queued.

        ``catch_up``: posting a digest that was missed (the process was down, or its run
        failed). On the very first run nothing was missed (the slot is only recorded), and a
        slot older than ``digest_catch_up_hours`` is left for the next scheduled one.
        """
        now = self._now(now)
        slot = slot or self.digest_slot(now)
        if self.relay.config.agents_destination is None:
            return 0
        stale = now - slot > timedelta(hours=self.config.digest_catch_up_hours)
        with self.service.uow() as uow:
            created = self.store.ensure_job(uow, JOB_DIGEST, slot if catch_up else None)
            claim = (None if catch_up and (created or stale)
                     else self.store.claim_job_slot(uow, JOB_DIGEST, slot, now))
            if claim is None:
                uow.commit()
                return 0
            cases = self.store.digest_cases(uow, (d.OPEN, d.INVESTIGATING, d.PENDING))
            # Ratings since the last digest that went out, so those given while one was
            # missed or left stale are counted in this one; each is counted in one digest.
            since = claim.previous or self.digest_slot(slot - timedelta(seconds=1))
            rated = self.store.digest_evaluations(uow, since, slot)
            posts = self._queue_digest(uow, cases, now, rated, since)
            self.store.record_job_run(uow, JOB_DIGEST, now, posts)
            uow.commit()
        log.info("digest for %s: %d channel message(s)", slot.isoformat(), posts)
        return posts

    def digest_channels(self, cases: Iterable[Case],
                        threads: Mapping[int, CaseThread]) -> dict[str, list[Case]]:
        """Cases by channel (their thread's, else their type's; ``threads`` by case id);
        every configured channel appears, even with nothing to list."""
        channel_for = self.relay.config.channel_for
        by_channel: dict[str, list[Case]] = {}
        for ch in [channel_for(None), *(channel_for(ct) for ct in CASE_TYPES)]:
            if ch:
                by_channel.setdefault(ch, [])
        for case in cases:
            ch = self._channel_of(case, threads.get(case.id))
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

        threads = self._threads(uow, [*cases, *(pair[0] for pair in rated)])

        def link(case: Case) -> str:
            return self._link(case, threads.get(case.id))

        channels = self.digest_channels(cases, threads)
        rated_in: dict[str, list[RatedCase]] = {}
        for pair in rated:
            ch = self._channel_of(pair[0], threads.get(pair[0].id))
            if ch:
                rated_in.setdefault(ch, []).append(pair)
                channels.setdefault(ch, [])
        posts = 0
        for channel, listed in sorted(channels.items()):
            sec = self.digest_sections(listed, now)
            parts = [
                (t("sched.digest_overdue", count=len(sec.overdue)), [
                    t("sched.digest_line_overdue", link=link(c), title=title(c),
                      urgent=" 🚨" if c.urgent else "", due=local(c.first_response_due_at))
                    + _credits(c)
                    for c in sec.overdue[: self.config.digest_max_items]], len(sec.overdue)),
                (t("sched.digest_open", count=len(sec.open)), [
                    t("sched.digest_line_open", link=link(c), title=title(c),
                      urgent=" 🚨" if c.urgent else "", opened=local(c.created_at))
                    + _credits(c)
                    for c in sec.open[: self.config.digest_max_items]], len(sec.open)),
                (t("sched.digest_pending", count=len(sec.pending)), [
                    t("sched.digest_line_pending", link=link(c), title=title(c),
                      since=local(c.pending_since))
                    + _credits(c)
                    for c in sec.pending[: self.config.digest_max_items]], len(sec.pending)),
                _with_resolvers(ratings_section(rated_in.get(channel, []), local(since),
                                                link, title, self.config.digest_max_items),
                                rated_in.get(channel, [])),
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


def _credits(case: Case) -> str:
    """A case line's credits: who it is assigned to and who gave its first response."""
    text = (t("sched.digest_assignee", assignee=slack_mention(case.assignee_ref))
            if case.assignee_ref else t("sched.digest_unassigned"))
    if case.first_response_by:
        text += t("sched.digest_first_response_by", agent=slack_mention(case.first_response_by))
    return text


def _with_resolvers(section: tuple[str, list[str], int],
                    rated: Sequence[RatedCase]) -> tuple[str, list[str], int]:
    """The ratings section with, after the counts, which agents resolved the rated cases."""
    heading, lines, total = section
    credits = credit_counts(case.resolved_by for case, _ in rated)
    if not credits:
        return section
    line = t("sched.digest_resolved_by", credits=" · ".join(
        t("sched.digest_resolved_count", agent=slack_mention(ref), count=count)
        for ref, count in credits))
    return heading, [*lines[:1], line, *lines[1:]], total + 1


def _fit(heading: str, lines: list[str], total: int) -> str:
    """The heading and as many lines as Slack's section limit allows, then "…and N more"."""
    if not lines:
        return f"{heading}\n{t('sched.digest_none')}"
    out = [heading]
    size = len(heading)
    shown = 0
    for line in lines:
        if size + len(line) + 1 > SLACK_SECTION_LIMIT - 40:  # leave room for the "more" line
            break
        out.append(line)
        size += len(line) + 1
        shown += 1
    if total > shown:
        out.append(t("sched.digest_more", count=total - shown))
    return "\n".join(out)
