"""The dispatcher when the database goes away in the middle of sends: the sends in flight are
not abandoned, their results are recorded once the database is back, and nothing is sent
twice (an unrecorded send would be repeated when its lease runs out). Shutdown lets sends in
flight finish and be recorded. A real outage with real processes is in tests/faults."""

from __future__ import annotations

import asyncio
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select

from bot import outbox as ob
from bot.cases import CaseService
from bot.clock import ManualClock
from bot.delivery_outcomes import DeliveryOutcomes
from bot.dispatcher import OutboxDispatcher
from bot.outbox import Delivery, DeliveryResult, OutboundItem
from bot.relay import Relay, RelayConfig
from storage.database import Database
from storage.models import OutboxRow
from storage.outbox_queue import SqlOutboxQueue
from storage.uow import SqlUnitOfWorkFactory
from tests.integration.case_rules_support import make_seller


class DatabaseAway(ConnectionError):
    """What the driver raises while the database cannot be reached."""


class Outage:
    """While ``down``, every database call of the queue and the recorder below fails."""

    def __init__(self) -> None:
        self.down = False
        self.refused: list[str] = []

    def check(self, call: str) -> None:
        if self.down:
            self.refused.append(call)
            raise DatabaseAway("connection refused")


class QueueWithOutage:
    """The real outbox queue, except that every call fails during the outage."""

    def __init__(self, inner: SqlOutboxQueue, outage: Outage) -> None:
        self.inner = inner
        self.outage = outage

    def claim_due(self, destinations: Sequence[str], now: datetime, limit: int,
                  lease: timedelta, holding: Collection[int] = (),
                  file_lease: timedelta | None = None) -> list[OutboundItem]:
        self.outage.check("claim_due")
        return self.inner.claim_due(destinations, now, limit, lease, holding, file_lease)

    def next_due_at(self, destinations: Sequence[str]) -> datetime | None:
        self.outage.check("next_due_at")
        return self.inner.next_due_at(destinations)


class OutcomesWithOutage:
    """The real delivery recorder, except that recording fails during the outage."""

    def __init__(self, inner: DeliveryOutcomes, outage: Outage) -> None:
        self.inner = inner
        self.outage = outage

    def record_many(self, deliveries: Sequence[Delivery]) -> None:
        self.outage.check("complete")
        self.inner.record_many(deliveries)


@dataclass
class GatedSender:
    """Accepts every send, but holds it until ``gate`` opens (a slow platform answer)."""

    destination: str
    gate: asyncio.Event = field(default_factory=asyncio.Event)
    holding: int = 0
    sent: list[int] = field(default_factory=list)

    async def deliver(self, item: OutboundItem) -> DeliveryResult:
        self.holding += 1
        await self.gate.wait()
        self.sent.append(item.id)
        return DeliveryResult(ok=True, platform_message_id=f"{item.id}.0",
                              platform_chat_id=str(item.payload.get("address", "C1")))


def _replies(service: CaseService, sellers: int) -> None:
    for n in range(sellers):
        ident, seller = make_seller(service, f"4{n}")
        case = service.open_case(seller.id, None, f"issue {n}", identity_id=ident.id).case
        service.agent_reply(case.number, "U1", f"answer {n}")


def _telegram_statuses(db: Database) -> dict[str, int]:
    """Outbox items to sellers' Telegram chats, per status (the agents' Slack items are not
    delivered by these dispatchers)."""
    with db.sessions() as session:
        rows = session.execute(select(OutboxRow.status, func.count())
                               .where(OutboxRow.destination == ob.TELEGRAM)
                               .group_by(OutboxRow.status))
        return {status: int(n) for status, n in rows}


def _dispatcher(db: Database, clock: ManualClock,
                sender: GatedSender) -> tuple[OutboxDispatcher, Outage]:
    relay = Relay(RelayConfig(agents_destination=None))
    outage = Outage()
    disp = OutboxDispatcher(
        QueueWithOutage(SqlOutboxQueue(db), outage), [sender], clock,
        OutcomesWithOutage(DeliveryOutcomes(SqlUnitOfWorkFactory(db), relay), outage),
        idle_poll=0.05)
    return disp, outage


async def _until(condition: object, timeout: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():  # type: ignore[operator]
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.01)


async def test_sends_in_flight_during_an_outage_are_recorded_once_and_never_repeated(
        db: Database, service: CaseService, clock: ManualClock) -> None:
    _replies(service, 3)
    telegram = GatedSender(ob.TELEGRAM)
    disp, queue = _dispatcher(db, clock, telegram)
    run = asyncio.ensure_future(disp.run_once())
    await _until(lambda: telegram.holding == 3)  # three sends waiting on the platform

    queue.down = True
    disp.wake()  # the dispatcher tries to claim more: refused
    await _until(lambda: "claim_due" in queue.refused)
    telegram.gate.set()  # the platform accepts the three sends...
    await _until(lambda: queue.refused.count("complete") >= 3)  # ...recording them fails
    assert not run.done() and len(telegram.sent) == 3

    queue.down = False  # the database is back
    assert await asyncio.wait_for(run, 10) == 3
    assert disp.record_retries >= 3 and disp.delivered == 3
    assert _telegram_statuses(db) == {"sent": 3}

    # Past every lease, nothing is due again: no send is repeated.
    clock.advance(timedelta(minutes=10))
    assert await disp.run_once() == 0
    assert sorted(telegram.sent) == sorted(set(telegram.sent))


async def test_a_claim_that_fails_with_nothing_in_flight_is_raised_for_the_loop_to_retry(
        db: Database, service: CaseService, clock: ManualClock) -> None:
    _replies(service, 1)
    telegram = GatedSender(ob.TELEGRAM)
    telegram.gate.set()
    disp, queue = _dispatcher(db, clock, telegram)
    queue.down = True
    stop = asyncio.Event()
    loop = asyncio.ensure_future(disp.run_forever(stop))
    await _until(lambda: queue.refused.count("claim_due") >= 2)  # it keeps trying
    queue.down = False
    await _until(lambda: telegram.sent != [])
    stop.set()
    await asyncio.wait_for(loop, 10)
    assert len(telegram.sent) == 1
    assert _telegram_statuses(db) == {"sent": 1}


async def test_shutdown_lets_sends_in_flight_finish_and_be_recorded(
        db: Database, service: CaseService, clock: ManualClock) -> None:
    _replies(service, 2)
    telegram = GatedSender(ob.TELEGRAM)
    disp, _queue = _dispatcher(db, clock, telegram)
    stop = asyncio.Event()
    loop = asyncio.ensure_future(disp.run_forever(stop))
    await _until(lambda: telegram.holding == 2)
    stop.set()  # shutdown begins while both sends wait on the platform
    service.agent_reply("CX-000001", "U1", "queued during shutdown")
    disp.wake()
    await asyncio.sleep(0.2)
    assert not loop.done()  # waiting for the sends in flight, not abandoning them
    telegram.gate.set()
    await asyncio.wait_for(loop, 10)
    assert len(telegram.sent) == 2
    # Both recorded; the reply queued after the stop is left for the next start.
    assert _telegram_statuses(db) == {"sent": 2, "pending": 1}


class CountingOutcomes:
    """The real delivery recorder, counting its transactions; those that include ``poison``
    fail the first ``failures`` times."""

    def __init__(self, inner: DeliveryOutcomes, poison: int | None = None, failures: int = 0) -> None:
        self.inner = inner
        self.poison = poison
        self.failures = failures
        self.batches: list[list[int]] = []

    def record_many(self, deliveries: Sequence[Delivery]) -> None:
        ids = [d.item.id for d in deliveries]
        if self.poison in ids and self.failures > 0:
            self.failures -= 1
            raise RuntimeError(f"cannot store item {self.poison}")
        self.inner.record_many(deliveries)
        self.batches.append(ids)


def _counting_dispatcher(db: Database, clock: ManualClock, sender: GatedSender,
                         outcomes: CountingOutcomes) -> OutboxDispatcher:
    return OutboxDispatcher(SqlOutboxQueue(db), [sender], clock, outcomes, idle_poll=0.05)


async def test_results_that_come_in_together_are_recorded_in_one_transaction(
        db: Database, service: CaseService, clock: ManualClock) -> None:
    _replies(service, 12)
    telegram = GatedSender(ob.TELEGRAM)
    counting = CountingOutcomes(DeliveryOutcomes(SqlUnitOfWorkFactory(db),
                                                 Relay(RelayConfig(agents_destination=None))))
    disp = _counting_dispatcher(db, clock, telegram, counting)
    run = asyncio.ensure_future(disp.run_once())
    await _until(lambda: telegram.holding == 12)
    telegram.gate.set()  # twelve sends answered at once
    assert await asyncio.wait_for(run, 10) == 12
    assert _telegram_statuses(db) == {"sent": 12}
    # The first result starts a transaction alone; the rest arrive while it runs.
    assert len(counting.batches) <= 3, counting.batches
    assert sorted(i for batch in counting.batches for i in batch) == sorted(telegram.sent)
    assert disp.record_transactions == len(counting.batches)


async def test_a_result_that_fails_its_shared_transaction_holds_up_only_itself(
        db: Database, service: CaseService, clock: ManualClock) -> None:
    _replies(service, 6)
    telegram = GatedSender(ob.TELEGRAM)
    relay = Relay(RelayConfig(agents_destination=None))
    counting = CountingOutcomes(DeliveryOutcomes(SqlUnitOfWorkFactory(db), relay))
    disp = _counting_dispatcher(db, clock, telegram, counting)
    run = asyncio.ensure_future(disp.run_once())
    await _until(lambda: telegram.holding == 6)
    ids = _telegram_ids(db)
    counting.poison, counting.failures = ids[-1], 3  # refused three times, then stored
    telegram.gate.set()
    assert await asyncio.wait_for(run, 10) == 6
    assert _telegram_statuses(db) == {"sent": 6}
    assert sorted(telegram.sent) == ids  # each sent once
    # The others were stored on their own without waiting for it; it was retried until stored.
    alone = [batch for batch in counting.batches if len(batch) == 1]
    assert {batch[0] for batch in alone} >= {counting.poison}
    assert counting.batches[-1] == [counting.poison]
    assert disp.record_retries >= 1


def _telegram_ids(db: Database) -> list[int]:
    with db.sessions() as session:
        return sorted(int(i) for i in session.execute(
            select(OutboxRow.id).where(OutboxRow.destination == ob.TELEGRAM)).scalars())


@dataclass
class OrderWatchingSender:
    """Accepts every send; the first is held until ``gate`` opens. Notes every send and
    whether two were ever in flight at once."""

    destination: str
    gate: asyncio.Event = field(default_factory=asyncio.Event)
    calls: list[int] = field(default_factory=list)
    in_flight: set[int] = field(default_factory=set)
    overlaps: list[list[int]] = field(default_factory=list)

    async def deliver(self, item: OutboundItem) -> DeliveryResult:
        self.calls.append(item.id)
        self.in_flight.add(item.id)
        if len(self.in_flight) > 1:
            self.overlaps.append(sorted(self.in_flight))
        if len(self.calls) == 1:
            await self.gate.wait()
        else:
            await asyncio.sleep(0.2)
        self.in_flight.discard(item.id)
        return DeliveryResult(ok=True, platform_message_id=f"{item.id}.{len(self.calls)}",
                              platform_chat_id=str(item.payload.get("address", "C1")))


async def test_an_outage_longer_than_the_lease_does_not_send_an_unrecorded_item_again(
        db: Database, service: CaseService, clock: ManualClock) -> None:
    """The platform took the first answer, then the database was away past the item's lease:
    when it is back, the dispatcher records that send instead of claiming the item again
    and sending it twice, and the chat's next answer goes only after it."""
    ident, seller = make_seller(service, "47")
    case = service.open_case(seller.id, None, "issue", identity_id=ident.id).case
    service.agent_reply(case.number, "U1", "answer A")
    service.agent_reply(case.number, "U1", "answer B")  # the same chat: after A
    telegram = OrderWatchingSender(ob.TELEGRAM)
    relay = Relay(RelayConfig(agents_destination=None))
    outage = Outage()
    disp = OutboxDispatcher(
        QueueWithOutage(SqlOutboxQueue(db), outage), [telegram], clock,
        OutcomesWithOutage(DeliveryOutcomes(SqlUnitOfWorkFactory(db), relay), outage),
        idle_poll=0.05, lease=timedelta(seconds=60))
    run = asyncio.ensure_future(disp.run_once())
    await _until(lambda: len(telegram.calls) == 1)

    outage.down = True
    telegram.gate.set()  # A reaches the seller; recording it fails
    await _until(lambda: outage.refused.count("complete") >= 3)
    clock.advance(timedelta(seconds=61))  # the outage outlasts A's lease
    outage.down = False
    await asyncio.wait_for(run, 20)

    assert len(telegram.calls) == 2 and telegram.calls[0] != telegram.calls[1]  # A, then B
    assert telegram.overlaps == []
    assert _telegram_statuses(db) == {"sent": 2}


def test_an_item_waits_while_another_of_its_chat_is_out_on_a_lease(
        db: Database, service: CaseService, clock: ManualClock) -> None:
    """On PostgreSQL ids follow inserts, not commits: an item can commit after a later item
    of its chat was claimed. It must wait until that one's send is recorded."""
    ident, seller = make_seller(service, "48")
    case = service.open_case(seller.id, None, "issue", identity_id=ident.id).case
    service.agent_reply(case.number, "U1", "committed last")
    service.agent_reply(case.number, "U1", "claimed first")
    queue = SqlOutboxQueue(db)
    lease = timedelta(seconds=60)
    with db.sessions() as session:
        earlier, later = session.scalars(
            select(OutboxRow.id).where(OutboxRow.destination == ob.TELEGRAM)
            .order_by(OutboxRow.id)).all()
    with db.sessions() as session, session.begin():  # "claimed first": out on its lease
        row = session.get(OutboxRow, later)
        assert row is not None
        row.claimed_until = clock.now() + lease

    assert queue.claim_due([ob.TELEGRAM], clock.now(), 10, lease) == []
    clock.advance(lease + timedelta(seconds=1))  # its lease ran out: the order rules again
    assert [i.id for i in queue.claim_due([ob.TELEGRAM], clock.now(), 10, lease)] == [earlier]
