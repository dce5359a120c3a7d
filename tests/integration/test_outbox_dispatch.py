"""The outbox dispatcher over a real database, with scripted senders (the platform side is
tested with the real SDKs in the adapter tests)."""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from sqlalchemy import select

from bot import outbox as ob
from bot.cases import CaseRules, CaseService
from bot.clock import ManualClock
from bot.delivery_outcomes import DeliveryOutcomes
from bot.dispatcher import OutboxDispatcher, backoff
from bot.outbox import DeliveryResult, OutboundItem
from bot.relay import Relay, RelayConfig
from storage.database import Database
from storage.models import OutboxRow
from storage.outbox_queue import SqlOutboxQueue
from storage.uow import SqlUnitOfWorkFactory
from tests.integration.case_rules_support import make_seller

ORDER = "123-1234567-1234567"


@dataclass
class ScriptedSender:
    """Answers from a script (default: success with an increasing message id)."""

    destination: str
    script: deque[DeliveryResult] = field(default_factory=deque)
    seen: list[OutboundItem] = field(default_factory=list)
    counter: int = 0

    async def deliver(self, item: OutboundItem) -> DeliveryResult:
        self.seen.append(item)
        if self.script:
            return self.script.popleft()
        self.counter += 1
        if "address" in item.payload:
            chat = str(item.payload["address"])
        else:
            chat = item.thread.channel if item.thread else "C1"
        return DeliveryResult(ok=True, platform_message_id=f"{self.counter}.0",
                              platform_chat_id=chat)


def outcomes(db: Database, relay: Relay) -> DeliveryOutcomes:
    return DeliveryOutcomes(SqlUnitOfWorkFactory(db), relay)


def dispatcher(db: Database, clock: ManualClock, *senders: ScriptedSender,
               max_attempts: int = 3) -> OutboxDispatcher:
    relay = Relay(RelayConfig(agents_destination="slack", channel_for=lambda _t: "C_SUPPORT"))
    return OutboxDispatcher(SqlOutboxQueue(db), list(senders), clock, outcomes(db, relay),
                            max_attempts=max_attempts)


async def test_parent_first_then_thread_posts_in_order(db: Database, service: CaseService,
                                                       clock: ManualClock) -> None:
    ident, seller = make_seller(service, "42")
    case = service.open_case(seller.id, "order", "late", order_id=ORDER,
                             identity_id=ident.id).case
    service.add_seller_message(seller.id, case.number, "second")
    service.add_seller_message(seller.id, case.number, "third")
    slack = ScriptedSender("slack")
    sent = await dispatcher(db, clock, slack).run_once()
    assert sent == 4
    assert [i.kind for i in slack.seen] == [ob.CASE_PARENT] + [ob.THREAD_POST] * 3
    assert slack.seen[0].thread is None
    # Items queued before the parent existed still land in its thread.
    assert {i.thread.ts for i in slack.seen[1:] if i.thread} == {"1.0"}
    assert [i.payload["text"] for i in slack.seen[1:]] == ["late", "second", "third"]
    detail = service.get_case(case.number)
    assert detail.agents_thread is not None
    assert (detail.agents_thread.channel, detail.agents_thread.parent_message_id) == ("C1", "1.0")


async def test_retry_after_is_honoured_and_item_arrives_once(
        db: Database, service: CaseService, clock: ManualClock) -> None:
    ident, seller = make_seller(service, "42")
    case = service.open_case(seller.id, None, "hi", identity_id=ident.id).case
    service.agent_reply(case.number, "U1", "first")
    service.agent_reply(case.number, "U1", "second")
    tg = ScriptedSender("telegram", deque([
        DeliveryResult(ok=False, retry_after=30, error="429"),
        DeliveryResult(ok=False, error="500 server error"),
    ]))
    disp = dispatcher(db, clock, tg, max_attempts=5)
    assert await disp.run_once() == 1  # 429: nothing else of that chat may overtake it
    assert await disp.run_once() == 0
    clock.advance(seconds=29)
    assert await disp.run_once() == 0  # Retry-After not over yet
    clock.advance(seconds=2)
    assert await disp.run_once() == 1  # the 500
    clock.advance(seconds=400)
    assert await disp.run_once() == 2
    texts = [i.payload["reply"]["text"] for i in tg.seen]
    assert texts == ["💬 CX-000001: first"] * 3 + ["💬 CX-000001: second"]
    assert disp.delivered == 2 and disp.failed == 2


async def test_rate_limits_do_not_use_up_attempts(
        db: Database, service: CaseService, clock: ManualClock) -> None:
    # Flood control on a busy bot: more 429s in a row than max_attempts, a 500 among them.
    # The item waits as asked each time and is sent; only the 500 and the send count.
    ident, seller = make_seller(service, "42")
    case = service.open_case(seller.id, None, "hi", identity_id=ident.id).case
    service.agent_reply(case.number, "U1", "answer")
    limited = DeliveryResult(ok=False, retry_after=5, error="429")
    tg = ScriptedSender("telegram", deque(
        [limited] * 4 + [DeliveryResult(ok=False, error="500 server error")] + [limited] * 4))
    disp = dispatcher(db, clock, tg, max_attempts=3)
    for _ in range(9):
        assert await disp.run_once() == 1
        clock.advance(seconds=400)
    assert await disp.run_once() == 1
    assert disp.dead == 0 and disp.delivered == 1 and len(tg.seen) == 10
    with db.sessions() as session:
        [(status, attempts)] = session.execute(
            select(OutboxRow.status, OutboxRow.attempts).where(
                OutboxRow.kind == ob.SELLER_MESSAGE)).all()
    assert (status, attempts) == ("sent", 2)


async def test_a_rate_limit_keeps_the_item_where_it_was(
        db: Database, service: CaseService, clock: ManualClock) -> None:
    # Two real failures, then a 429: the item is not dead-lettered at max_attempts 3, and its
    # next failure after the 429 is its third attempt, which is.
    ident, seller = make_seller(service, "42")
    case = service.open_case(seller.id, None, "hi", identity_id=ident.id).case
    service.agent_reply(case.number, "U1", "answer")
    tg = ScriptedSender("telegram", deque([
        DeliveryResult(ok=False, error="503"), DeliveryResult(ok=False, error="503"),
        DeliveryResult(ok=False, retry_after=1, error="429"),
        DeliveryResult(ok=False, error="503")]))
    disp = dispatcher(db, clock, tg, ScriptedSender("slack"), max_attempts=3)
    for _ in range(3):
        await disp.run_once()
        clock.advance(seconds=600)
    assert disp.dead == 0
    await disp.run_once()
    assert disp.dead == 1
    [dead] = SqlOutboxQueue(db).dead_letters()
    assert dead["attempts"] == 3


async def test_dead_letter_after_max_attempts_is_shown_to_agents(
        db: Database, service: CaseService, clock: ManualClock) -> None:
    ident, seller = make_seller(service, "42")
    case = service.open_case(seller.id, None, "hi", identity_id=ident.id).case
    service.agent_reply(case.number, "U1", "answer")
    failing = ScriptedSender("telegram", deque(
        [DeliveryResult(ok=False, error="503")] * 3))
    slack = ScriptedSender("slack")
    disp = dispatcher(db, clock, failing, slack, max_attempts=3)
    for _ in range(3):
        await disp.run_once()
        clock.advance(seconds=600)
    await disp.run_once()
    assert disp.dead == 1
    warnings = [i.payload["text"] for i in slack.seen if i.kind == ob.THREAD_POST]
    assert any("Not delivered to the seller: 503" in w for w in warnings)
    assert SqlOutboxQueue(db).counts().get("dead") == 1
    [dead] = SqlOutboxQueue(db).dead_letters()
    assert dead["error"] == "503" and dead["attempts"] == 3


async def test_blocked_chat_stops_delivery_and_tells_agents(
        db: Database, service: CaseService, clock: ManualClock) -> None:
    ident, seller = make_seller(service, "42")
    case = service.open_case(seller.id, None, "hi", identity_id=ident.id).case
    service.agent_reply(case.number, "U1", "one")
    service.agent_reply(case.number, "U1", "two")
    tg = ScriptedSender("telegram", deque([DeliveryResult(
        ok=False, permanent=True, error="Forbidden: bot was blocked by the user",
        extra={"unreachable": True})]))
    slack = ScriptedSender("slack")
    disp = dispatcher(db, clock, tg, slack)
    await disp.run_once()
    assert len(tg.seen) == 1  # the queued second reply is not tried: the chat is blocked
    assert any("no longer accepts messages" in i.payload.get("text", "")
               for i in slack.seen if i.kind == ob.THREAD_POST)
    # Further replies are not even queued, and the thread says so.
    service.agent_reply(case.number, "U1", "three")
    await disp.run_once()
    assert len(tg.seen) == 1
    assert SqlOutboxQueue(db).counts().get("pending", 0) == 0


async def test_delivered_agent_reply_gets_a_reaction_and_a_reply_ref(
        db: Database, service: CaseService, clock: ManualClock,
        uow_factory: object) -> None:
    ident, seller = make_seller(service, "42")
    case = service.open_case(seller.id, None, "hi", identity_id=ident.id).case
    slack = ScriptedSender("slack")
    tg = ScriptedSender("telegram")
    disp = dispatcher(db, clock, tg, slack)
    await disp.run_once()
    service.agent_reply(case.number, "U1", "answer", from_agents_platform=True,
                        platform_message_id="1700.5")
    await disp.run_once()
    reactions = [i for i in slack.seen if i.kind == ob.THREAD_REACTION]
    # On the agent's message, in the channel it was written in (the case's thread here).
    assert [r.payload for r in reactions] == [
        {"name": "white_check_mark", "target_ts": "1700.5", "channel": "C1"}]
    from storage.uow import SqlUnitOfWork

    with SqlUnitOfWork(db) as uow:
        ref = uow.messages.find_ref("telegram", "42", "1.0")
    assert ref is not None and ref[0] == case.id


async def test_two_dispatchers_deliver_each_item_once(
        db: Database, service: CaseService, clock: ManualClock) -> None:
    sellers = [make_seller(service, str(i), f"S{i}") for i in range(10)]
    for ident, seller in sellers:
        case = service.open_case(seller.id, None, "hi", identity_id=ident.id).case
        for n in range(3):
            service.agent_reply(case.number, "U1", f"reply {n}")
    a, b = ScriptedSender("telegram"), ScriptedSender("telegram")
    da, dbb = dispatcher(db, clock, a), dispatcher(db, clock, b)
    for _ in range(5):
        await asyncio.gather(da.run_once(), dbb.run_once())
    delivered = [i.id for i in a.seen + b.seen]
    assert len(delivered) == 30 and len(set(delivered)) == 30
    for ident, _ in sellers:  # per-chat order kept across both dispatchers
        texts = [i.payload["reply"]["text"][-7:] for i in sorted(a.seen + b.seen,
                 key=lambda x: x.id) if i.payload["address"] == ident.address]
        assert texts == ["reply 0", "reply 1", "reply 2"]


async def test_run_forever_wakes_on_commit(db: Database, clock: ManualClock) -> None:
    from frontdoor.settings import Settings
    from frontdoor.wiring import build_services

    services = build_services(Settings(frontdoor_database_url=db.url), clock=clock, database=db)
    tg = ScriptedSender("telegram")
    disp = services.dispatcher([tg], idle_poll=30.0)  # a slow poll: only the wake-up is fast
    stop = asyncio.Event()
    task = asyncio.create_task(disp.run_forever(stop))
    await asyncio.sleep(0.05)
    ident, seller = make_seller(services.cases, "42")
    case = services.cases.open_case(seller.id, None, "hi", identity_id=ident.id).case
    await asyncio.to_thread(services.cases.agent_reply, case.number, "U1", "fast")
    for _ in range(100):
        if tg.seen:
            break
        await asyncio.sleep(0.02)
    stop.set()
    await asyncio.wait_for(task, 5)
    assert [i.payload["reply"]["text"] for i in tg.seen] == ["💬 CX-000001: fast"]


@pytest.mark.parametrize("attempts,expected_max", [(1, 1.0), (3, 4.0), (20, 300.0)])
def test_backoff_grows_and_is_capped(attempts: int, expected_max: float) -> None:
    for _ in range(20):
        delay = backoff(attempts)
        assert expected_max / 2 <= delay <= expected_max
    assert backoff(1, retry_after=42) == 42


def test_a_rate_limit_after_earlier_failures_waits_only_what_the_platform_asks() -> None:
    """Six failures in an outage, then a 429 with Retry-After 1: the next try is in 1 s, not
    the 32-64 s the seventh exponential step would park the chat's queue for."""
    assert backoff(7, retry_after=1.0) == 1.0
    assert backoff(7) >= 32.0


def test_postgres_notify_wakes_other_processes(postgres_url: str, clock: ManualClock) -> None:
    """A commit that queues outbox items notifies listeners (here: another connection)."""
    import threading

    from bot.cases import CaseService
    from storage.notify import OutboxListener
    from storage.uow import SqlUnitOfWorkFactory

    woke = threading.Event()
    listener = OutboxListener(postgres_url, woke.set)
    listener.start()
    try:
        db = Database(postgres_url)
        service = CaseService(SqlUnitOfWorkFactory(db), clock=clock)
        ident, seller = make_seller(service, "notify-1")
        case = service.open_case(seller.id, None, "hi", identity_id=ident.id).case
        assert listener.ready.wait(5)
        woke.clear()
        service.agent_reply(case.number, "U1", "wake up")
        assert woke.wait(5), "no NOTIFY received"
    finally:
        listener.stop()


@dataclass
class FilesFailSender(ScriptedSender):
    """Slack that takes every post but whose file copies keep failing for now."""

    async def deliver(self, item: OutboundItem) -> DeliveryResult:
        if item.kind == ob.THREAD_FILE:
            self.seen.append(item)
            return DeliveryResult(ok=False, error="telegram: 502 Bad Gateway")
        return await super().deliver(item)


async def test_a_file_copy_that_keeps_failing_is_reported_in_the_thread(
        db: Database, uow_factory: SqlUnitOfWorkFactory, clock: ManualClock) -> None:
    relay = Relay(RelayConfig(agents_destination="slack", channel_for=lambda _t: "C_SUPPORT",
                              file_sources=frozenset({"telegram"})))
    service = CaseService(uow_factory, relay, CaseRules(), clock)
    ident, seller = make_seller(service, "42")
    photo = {"kind": "photo", "file_id": "AgAD-1", "file_name": "label.jpg",
             "source": "telegram"}
    service.open_case(seller.id, "shipping", "the label is torn", order_id=ORDER,
                      attachments=[photo], identity_id=ident.id)
    slack = FilesFailSender("slack")
    disp = OutboxDispatcher(SqlOutboxQueue(db), [slack, ScriptedSender("telegram")],
                            clock, outcomes(db, relay), max_attempts=3)
    for _ in range(4):
        await disp.run_once()
        clock.advance(seconds=600)
    await disp.run_once()
    assert [i.kind for i in slack.seen].count(ob.THREAD_FILE) == 3
    notes = [i.payload["text"] for i in slack.seen if i.kind == ob.THREAD_POST]
    assert any('"label.jpg" could not be copied into this thread after 3 tries '
               "(telegram: 502 Bad Gateway)" in n for n in notes), notes
    assert SqlOutboxQueue(db).counts().get("dead") == 1


@dataclass
class StuckSender(ScriptedSender):
    """Takes every item at once, except the ones with ``stuck`` in their text, which hang
    until ``release`` is set."""

    release: asyncio.Event = field(default_factory=asyncio.Event)

    async def deliver(self, item: OutboundItem) -> DeliveryResult:
        if "stuck" in str(item.payload.get("text", "")):
            self.seen.append(item)
            await self.release.wait()
            self.counter += 1
            return DeliveryResult(ok=True, platform_message_id=f"{self.counter}.0",
                                  platform_chat_id="C1")
        return await super().deliver(item)


async def test_a_slow_delivery_holds_up_only_its_own_thread(
        db: Database, service: CaseService, clock: ManualClock) -> None:
    _, seller = make_seller(service, "42")
    slow = service.open_case(seller.id, "shipping", "stuck parcel", order_id=ORDER).case
    slack = StuckSender("slack")
    disp = dispatcher(db, clock, slack, ScriptedSender("telegram"))
    stop = asyncio.Event()
    runner = asyncio.ensure_future(disp.run_forever(stop))
    try:
        for _ in range(200):  # the slow case's thread post is under way
            if any("stuck" in str(i.payload.get("text")) for i in slack.seen):
                break
            await asyncio.sleep(0.01)
        # New work for another case arrives while that delivery hangs: it goes out at once.
        other = service.open_case(seller.id, "payment", "missing payout").case
        disp.wake()
        for _ in range(200):
            if any(i.case_id == other.id and i.kind == ob.THREAD_POST for i in slack.seen):
                break
            await asyncio.sleep(0.01)
        assert any(i.case_id == other.id and i.kind == ob.THREAD_POST for i in slack.seen)
        # The slow case's later items wait behind it (its order is kept).
        service.add_seller_message(seller.id, slow.number, "after the stuck one")
        disp.wake()
        await asyncio.sleep(0.2)
        assert not any("after the stuck one" in str(i.payload.get("text")) for i in slack.seen)
        slack.release.set()
        for _ in range(200):
            if any("after the stuck one" in str(i.payload.get("text")) for i in slack.seen):
                break
            await asyncio.sleep(0.01)
        texts = [str(i.payload.get("text")) for i in slack.seen if i.case_id == slow.id
                 and i.kind == ob.THREAD_POST]
        assert texts[-2:] == ["stuck parcel", "after the stuck one"]
    finally:
        stop.set()
        await asyncio.wait_for(runner, 5)


async def test_a_delivery_that_never_answers_is_retried_before_its_lease_ends(
        db: Database, service: CaseService, clock: ManualClock) -> None:
    _, seller = make_seller(service, "42")
    service.open_case(seller.id, "shipping", "stuck parcel", order_id=ORDER)
    relay = Relay(RelayConfig(agents_destination="slack", channel_for=lambda _t: "C_SUPPORT"))
    slack = StuckSender("slack")
    disp = OutboxDispatcher(SqlOutboxQueue(db), [slack, ScriptedSender("telegram")],
                            clock, outcomes(db, relay), lease=timedelta(seconds=0.5))
    await asyncio.wait_for(disp.run_once(), 5)
    assert disp.failed == 1 and disp.delivered == 1  # the parent went out, the post timed out
    rows = SqlOutboxQueue(db).counts()
    assert rows.get("pending", 0) >= 1
