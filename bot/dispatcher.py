"""The outbox dispatcher: hands due items to their platform's sender, in order, with retries.

Items that share an ordering key (one seller chat, or one case's Slack thread) are delivered
strictly one after another; different keys go out concurrently. A platform outage delays
items (exponential backoff, honouring Retry-After) and loses none; after ``max_attempts`` an
item is dead-lettered and, where it concerns a case, the agents are told. A rate limit is not
an attempt: the item waits as long as the platform asks and keeps its attempts.

A send that reached its platform must be recorded, or the item is sent again when its lease
runs out. So a database error never abandons sends in flight: claiming pauses while they
finish, and recording each result is retried until it is stored. Shutdown stops claiming and
lets the sends in flight finish and be recorded.

Results are recorded together: those that come in while a transaction records earlier ones
wait for the next, one transaction for all of them (a commit, and on PostgreSQL a disk flush,
for many sends instead of one each). None waits for company: a result that comes alone is
recorded at once. If a shared transaction
fails, each of its results is recorded on its own, so one that cannot be stored holds up only
its own chat.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Collection, Sequence
from datetime import datetime, timedelta
from typing import Protocol

from bot.clock import Clock
from bot.outbox import (
    FILE_KINDS,
    Delivery,
    DeliveryResult,
    OutboundItem,
    OutboxSender,
    attempts_after,
)
from bot.urgent_work import urgent

log = logging.getLogger(__name__)

# Recording a delivered item is retried with these pauses (seconds) until it is stored.
_RECORD_RETRY_FIRST = 0.1
_RECORD_RETRY_MAX = 2.0
# Results recorded in one transaction at most (the dispatcher sends up to `batch` at once).
_RECORD_TOGETHER_MAX = 100
#: A send is cut at this share of its item's lease: past the lease another dispatcher may
#: claim the item again, and the result still has to be recorded.
SEND_SHARE_OF_LEASE = 0.8
#: The claim on an item of an ordinary send (48 s to send it).
LEASE = timedelta(seconds=60)
#: The claim on an item that moves a file (``FILE_KINDS``): 408 s to send it, the time its
#: download and two uploads may each take (120 s: the adapters' DOWNLOAD_TIMEOUT and
#: UPLOAD_TIMEOUT; a picture Telegram refuses as a photo is uploaded again as a document) and
#: an ordinary send's 48 s for the rest (looking for an earlier delivery, the API calls around
#: the bytes). With 48 s for everything, a large file was cut mid-way, never arrived, and could
#: reach the platform after all and be sent again.
FILE_LEASE = timedelta(seconds=510)


class OutboxQueue(Protocol):
    """Storage side of the outbox (storage.outbox_queue.SqlOutboxQueue)."""

    def claim_due(self, destinations: Sequence[str], now: datetime, limit: int,
                  lease: timedelta, holding: Collection[int] = (),
                  file_lease: timedelta | None = None) -> list[OutboundItem]:
        """Claim up to ``limit`` due items, at most one per ordering key (its oldest), none of
        ``holding`` (items this dispatcher is still sending or recording), each for ``lease``
        (``file_lease`` for those of ``FILE_KINDS``, if given)."""
        ...

    def next_due_at(self, destinations: Sequence[str]) -> datetime | None: ...


class DeliveryRecorder(Protocol):
    """Records deliveries and what they mean (bot.delivery_outcomes.DeliveryOutcomes)."""

    def record_many(self, deliveries: Sequence[Delivery]) -> None:
        """Record several deliveries in one transaction: all or none."""
        ...


def backoff(attempts: int, retry_after: float | None = None, cap: float = 300.0) -> float:
    """Seconds to wait before the next try: what the platform's Retry-After says when it
    says anything, else exponential with jitter.

    A rate limit names the moment sending works again; growing it with the failures before
    it (a short outage, say) only parks the item and every later one to the same chat."""
    if retry_after:
        return retry_after
    base = min(cap, 2.0 ** max(0, attempts - 1))
    return base * (0.5 + random.random() / 2)  # jitter spreads retries after an outage


class OutboxDispatcher:
    def __init__(
        self, queue: OutboxQueue, senders: Sequence[OutboxSender], clock: Clock,
        outcomes: DeliveryRecorder, max_attempts: int = 8, batch: int = 50,
        idle_poll: float = 1.0, lease: timedelta = LEASE,
        file_lease: timedelta = FILE_LEASE,
    ) -> None:
        self.queue = queue
        self.outcomes = outcomes
        self.senders = {s.destination: s for s in senders}
        self.clock = clock
        self.max_attempts = max_attempts
        self.batch = batch
        self.idle_poll = idle_poll
        self.lease = lease
        self.file_lease = max(file_lease, lease)
        self._wake = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self.delivered = 0
        self.failed = 0
        self.dead = 0
        self.record_retries = 0  # deliveries whose result the database refused for a while
        self.record_transactions = 0  # transactions that recorded results
        self.claims = 0  # claim transactions run
        self.empty_claims = 0  # of them, those that found nothing due
        self._to_record: list[tuple[Delivery, asyncio.Future[bool]]] = []
        # Items claimed here and not yet recorded. A result waiting out a database outage can
        # outlast the item's lease; this dispatcher must not claim and send it again then.
        self._holding: set[int] = set()
        self._recorder: asyncio.Future[None] | None = None

    def wake(self) -> None:
        """New work was committed: deliver now. Safe to call from any thread."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            self._wake.set()
        else:
            loop.call_soon_threadsafe(self._wake.set)

    def _start_delivery(self, item: OutboundItem) -> asyncio.Future[None]:
        """Send and record ``item`` in a task; this dispatcher holds it until the task ends
        (recorded, or cancelled at shutdown, even before it ran)."""
        self._holding.add(item.id)
        delivery = asyncio.ensure_future(self._deliver(item))

        def released(_done: asyncio.Future[None]) -> None:
            self._holding.discard(item.id)

        delivery.add_done_callback(released)
        return delivery

    async def _deliver(self, item: OutboundItem) -> None:
        sender = self.senders[item.destination]
        # Finish well inside the lease: past it another dispatcher may claim the item again.
        lease = self.file_lease if item.kind in FILE_KINDS else self.lease
        limit = lease.total_seconds() * SEND_SHARE_OF_LEASE
        try:
            result = await asyncio.wait_for(sender.deliver(item), limit)
        except TimeoutError:
            result = DeliveryResult(ok=False, error=f"no answer within {limit:.0f} s")
        except Exception as exc:  # a sender bug must not stop the dispatcher
            log.exception("sender %s raised on item %s", item.destination, item.id)
            result = DeliveryResult(ok=False, error=f"{type(exc).__name__}: {exc}")
        now = self.clock.now()
        attempts = attempts_after(item, result)
        dead = not result.ok and (result.permanent or attempts >= self.max_attempts)
        retry_at = None
        if not result.ok and not dead:
            retry_at = now + timedelta(seconds=backoff(attempts, result.retry_after))
        if result.ok:
            self.delivered += 1
        elif dead:
            self.dead += 1
            log.warning("outbox item %s dead-lettered: %s", item.id, result.error)
        else:
            self.failed += 1
        await self._record(item, result, now, retry_at, dead)

    async def _record(self, item: OutboundItem, result: DeliveryResult, now: datetime,
                      retry_at: datetime | None, dead: bool) -> None:
        """Store a delivery's outcome, retrying until the database takes it: an unrecorded
        send is sent again once its lease runs out. Recording twice is harmless (only a
        pending item is updated)."""
        delivery = Delivery(item, result, now, retry_at, dead)
        if await self._record_together(delivery):
            return
        pause = _RECORD_RETRY_FIRST
        while True:
            try:
                await asyncio.to_thread(self.outcomes.record_many, [delivery])
                self.record_transactions += 1
                return
            except Exception as exc:
                self.record_retries += 1
                log.warning("could not record the delivery of outbox item %s (%s); retrying "
                            "in %.1f s", item.id, exc, pause)
                await asyncio.sleep(pause)
                pause = min(pause * 2, _RECORD_RETRY_MAX)

    async def _record_together(self, delivery: Delivery) -> bool:
        """Queue ``delivery`` for the next shared transaction and wait for it: True once
        stored, False if that transaction failed (record it alone)."""
        stored: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._to_record.append((delivery, stored))
        if self._recorder is None or self._recorder.done():
            self._recorder = asyncio.ensure_future(self._record_queued())
        # Shielded: a cancelled send (shutdown) leaves its result to the shared transaction.
        return await asyncio.shield(stored)

    async def _record_queued(self) -> None:
        """Record what is queued, a transaction at a time, until nothing is left."""
        while self._to_record:
            batch = self._to_record[:_RECORD_TOGETHER_MAX]
            del self._to_record[:_RECORD_TOGETHER_MAX]
            try:
                await asyncio.to_thread(self.outcomes.record_many, [d for d, _ in batch])
                self.record_transactions += 1
                ok = True
            except Exception as exc:
                log.warning("could not record %d deliveries together (%s); recording each on "
                            "its own", len(batch), exc)
                ok = False
            for _, stored in batch:
                if not stored.done():
                    stored.set_result(ok)

    async def run_once(self, limit: int = 1000, stop: asyncio.Event | None = None) -> int:
        """Deliver everything due now (heads of each ordering key, repeatedly); return count.

        Up to ``batch`` deliveries run at once, and more are claimed as soon as one finishes
        or new work is committed: a slow one (a large file) holds up only its own ordering key
        (whose later items wait behind its lease), never the other chats and threads.

        If claiming fails (the database is away) while sends are in flight, they go on and
        claiming is tried again after a pause; with none in flight the error is raised. Once
        ``stop`` is set nothing more is claimed, and the call returns when the sends in flight
        are finished and recorded.
        """
        self._loop = asyncio.get_running_loop()
        # Claims, sends and their records go ahead of sellers' new turns for a worker thread:
        # each ends somebody's wait (bot.urgent_work).
        with urgent():
            return await self._run_once(limit, stop)

    async def _run_once(self, limit: int, stop: asyncio.Event | None) -> int:
        done = 0
        claimed = 0
        in_flight: set[asyncio.Future[None]] = set()
        claim_again_at = 0.0
        try:
            while True:
                room = min(self.batch - len(in_flight), limit - claimed)
                stopping = stop is not None and stop.is_set()
                if room > 0 and not stopping and time.monotonic() >= claim_again_at:
                    try:
                        items = await asyncio.to_thread(
                            self.queue.claim_due, list(self.senders), self.clock.now(), room,
                            self.lease, frozenset(self._holding), self.file_lease,
                        )
                    except Exception:
                        if not in_flight:
                            raise
                        log.warning("could not claim outbox items; the %d sends in flight go "
                                    "on", len(in_flight), exc_info=True)
                        items = []
                        claim_again_at = time.monotonic() + self.idle_poll
                    self.claims += 1
                    self.empty_claims += not items
                    claimed += len(items)
                    for item in items:
                        in_flight.add(self._start_delivery(item))
                if not in_flight:
                    return done
                self._wake.clear()
                woken = asyncio.ensure_future(self._wake.wait())
                finished, _ = await asyncio.wait(
                    in_flight | {woken}, timeout=self.idle_poll,
                    return_when=asyncio.FIRST_COMPLETED)
                woken.cancel()
                finished.discard(woken)
                for task in finished:
                    task.result()  # _deliver reports sender errors and retries its record
                in_flight -= finished
                done += len(finished)
        finally:
            # Only cancellation gets here with sends in flight (shutdown past its grace
            # period): their leases run out and they are claimed again later.
            for task in in_flight:
                task.cancel()

    async def run_forever(self, stop: asyncio.Event) -> None:
        """Deliver until ``stop`` is set; sleep until woken, the next retry, or the idle poll
        (which picks up work committed by other processes)."""
        self._loop = asyncio.get_running_loop()
        while not stop.is_set():
            self._wake.clear()
            try:
                await self.run_once(stop=stop)
            except Exception:  # the database may be briefly unreachable: keep going
                log.exception("outbox dispatch failed; retrying")
            timeout = self.idle_poll
            try:
                with urgent():
                    due = await asyncio.to_thread(self.queue.next_due_at, list(self.senders))
            except Exception:
                due = None
            if due is not None:
                timeout = max(0.0, min(timeout, (due - self.clock.now()).total_seconds()))
            waiter = asyncio.ensure_future(self._wake.wait())
            stopper = asyncio.ensure_future(stop.wait())
            await asyncio.wait({waiter, stopper}, timeout=timeout,
                               return_when=asyncio.FIRST_COMPLETED)
            for fut in (waiter, stopper):
                fut.cancel()
