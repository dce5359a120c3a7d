"""What the sweeps and the digest share: the case service, the store, batches of claimed
cases in one transaction each, and posting to a case's channel."""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot import outbox as ob
from bot.cases import CaseService
from bot.clock import Clock
from bot.domain import Case, CaseThread
from bot.outbox_payloads import ChannelPostPayload
from bot.ports import UnitOfWork
from bot.relay import Relay, message_link
from bot.sweep_batch import BatchUnitOfWork
from bot.sweep_config import SchedulerConfig
from bot.sweep_store import SweepStore

log = logging.getLogger(__name__)


#: Called once per batch of a sweep, in the batch's transaction, after the rule acted on
#: every case of it: (the batch's unit of work, its cases, now). Register with ``on_batch``.
BatchHook = Callable[[UnitOfWork, Sequence[Case], datetime], None]


@dataclass(frozen=True)
class BatchNeeds:
    """What a sweep's rule reads about its cases, fetched per batch (see SweepStore)."""

    chats: bool = False  # the seller's chat (messages to the seller)
    cards: bool = False  # what the case card shows (status changes)
    prompts: bool = False  # the delivered rating prompt
    threads: bool = False  # where each case is shown to agents (links to its thread)


class SweeperBase:
    """Runs the scheduler's rules. Each method takes ``now`` (default: the service's clock),
    works in transactions of ``config.batch_size`` cases and returns how many it acted on."""

    #: False: the rules write straight through, one statement at a time (the reference the
    #: tests compare the batched writes with).
    buffered_writes = True

    def __init__(self, service: CaseService, store: SweepStore,
                 config: SchedulerConfig | None = None) -> None:
        self.service = service
        self.store = store
        self.config = config or SchedulerConfig()
        self._hooks: dict[str, list[BatchHook]] = {}

    @property
    def relay(self) -> Relay:
        return self.service.relay

    @property
    def clock(self) -> Clock:
        return self.service.clock

    def on_batch(self, sweep: str, hook: BatchHook) -> None:
        """Run ``hook`` on every batch of ``sweep`` (a ``_batches`` name such as
        "first_response.warning"), in the same transaction as the rule's own work. Its writes
        through the unit of work are batched like the rule's; call ``uow.flush()`` (a
        ``BatchUnitOfWork``) before reading with SQL what the batch wrote."""
        self._hooks.setdefault(sweep, []).append(hook)

    # Machinery -----------------------------------------------------------------------------
    def _batches(
        self, name: str, now: datetime,
        claim: Callable[[UnitOfWork, int, Collection[int]], list[Case]],
        act: Callable[[BatchUnitOfWork, Case], None],
        needs: BatchNeeds = BatchNeeds(),
    ) -> int:
        """Claim and act in one transaction per batch until nothing is due.

        The rule runs per case over a ``BatchUnitOfWork``: the batch's reads come from a few
        queries made up front and its writes go out in a few statements at the end.
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
                    batch = BatchUnitOfWork(uow, self.store, self.store.batch_reads(
                        uow, cases, chats=needs.chats, cards=needs.cards,
                        prompts=needs.prompts, threads=needs.threads) if cases else None,
                        self.buffered_writes)
                    batch.add_cases(cases)
                    for case in cases:
                        current.append(case.id)
                        act(batch, case)
                    if cases:
                        for hook in self._hooks.get(name, ()):
                            hook(batch, cases, now)
                    batch.commit()
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

    def _threads(self, uow: UnitOfWork, cases: Iterable[Case]) -> dict[int, CaseThread]:
        """Where each of ``cases`` is shown to agents (none before its parent is posted)."""
        platform = self.relay.config.agents_destination or ob.SLACK
        ids = [case.id for case in cases]
        return dict(uow.threads.for_cases(ids, platform)) if ids else {}

    def _link(self, case: Case, thread: CaseThread | None) -> str:
        """A Slack link to the case's thread, or its number before the parent is posted."""
        if thread is not None:
            url = message_link(self.config.slack_link_base, thread.channel,
                               thread.parent_message_id)
            return f"<{url}|{case.number}>"
        return case.number

    def _channel_of(self, case: Case, thread: CaseThread | None) -> str | None:
        """The agents' channel the case is in: its thread's, else its type's."""
        return thread.channel if thread is not None else self.relay.config.channel_for(
            case.case_type)

    def _channel_post(self, uow: UnitOfWork, channel: str | None, text: str, now: datetime,
                      blocks: list[dict[str, Any]] | None = None) -> int | None:
        """Queue a top-level message in an agents' channel (no agents platform: nothing)."""
        dest = self.relay.config.agents_destination
        if dest is None or channel is None:
            return None
        payload = ChannelPostPayload(channel=channel, text=text)
        if blocks:
            payload["blocks"] = blocks
        return uow.outbox.add(dest, ob.CHANNEL_POST, payload, None, f"{dest}:channel:{channel}",
                              now)

    # Seller reminders and auto-close -------------------------------------------------------
