"""A message is not lost when its turn fails: the event's claim is given back, or, when the
attempt died or lost the database, its lease runs out, so the platform's redelivery of the same
event is processed (and a replay after success is not)."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest

from bot.cases import CaseService
from bot.classification import Classification
from bot.clock import ManualClock
from bot.inbound_claims import EventInProgress
from bot.relay import Relay
from bot.texts import t
from storage.uow import SqlUnitOfWorkFactory
from tests.fakes import FakeClassifier
from tests.unit.chat_harness import RULES, Chat, make_engine, register
from tests.unit.redelivery_helpers import ORDER, TEXT, break_the_first_reply, chat_for, claims_of


class FlakyClassifier:
    """Fails the first ``failures`` calls with an unexpected error, then classifies."""

    def __init__(self, failures: int = 1) -> None:
        self.failures = failures
        self.inner = FakeClassifier(dict(RULES), default=None)

    async def classify(self, text: str) -> Classification:
        if self.failures > 0:
            self.failures -= 1
            raise RuntimeError("the classifier blew up")
        return await self.inner.classify(text)


class BlockingClassifier:
    """Waits until released: lets a test cancel a turn in the middle."""

    def __init__(self) -> None:
        self.started = asyncio.Event()
        self.go = asyncio.Event()
        self.inner = FakeClassifier(dict(RULES), default=None)

    async def classify(self, text: str) -> Classification:
        self.started.set()
        await self.go.wait()
        return await self.inner.classify(text)


async def test_a_failed_turn_is_processed_when_the_event_is_redelivered(
        service: CaseService, uow_factory: SqlUnitOfWorkFactory, relay: Relay,
        clock: ManualClock) -> None:
    chat = chat_for(service, uow_factory, relay, clock, FlakyClassifier(failures=1))

    await chat.say(TEXT, event_id="tg-1001")
    chat.expect(t("engine.error"))
    assert claims_of(uow_factory, "tg-1001") == 0  # given back with the error reply

    # The platform delivers the same event again: this time it is processed.
    await chat.say(TEXT, event_id="tg-1001")
    chat.expect("I'll open this case", f"Order: {ORDER}")
    assert claims_of(uow_factory, "tg-1001") == 1

    # A replay of a processed event is still dropped.
    assert await chat.say(TEXT, event_id="tg-1001") == []
    await chat.press("Open the case")
    chat.expect("Opened CX-000001")


async def test_a_turn_that_cannot_be_saved_raises_and_gives_the_event_back(
        service: CaseService, uow_factory: SqlUnitOfWorkFactory, relay: Relay,
        clock: ManualClock, monkeypatch: pytest.MonkeyPatch) -> None:
    chat = chat_for(service, uow_factory, relay, clock, FakeClassifier(dict(RULES), default=None))
    break_the_first_reply(relay, monkeypatch, RuntimeError)
    with pytest.raises(RuntimeError):
        await chat.say(TEXT, event_id="tg-2002")
    assert claims_of(uow_factory, "tg-2002") == 0
    assert chat.outbox() == []  # nothing of the failed turn was queued

    await chat.say(TEXT, event_id="tg-2002")
    chat.expect("I'll open this case")
    assert claims_of(uow_factory, "tg-2002") == 1
    await chat.press("Open the case")  # the dialogue state of the retry was saved
    chat.expect("Opened CX-000001")


async def test_a_cancelled_turn_gives_the_event_back(
        service: CaseService, uow_factory: SqlUnitOfWorkFactory, relay: Relay,
        clock: ManualClock) -> None:
    blocking = BlockingClassifier()
    chat = chat_for(service, uow_factory, relay, clock, blocking)

    task = asyncio.ensure_future(chat.say(TEXT, event_id="tg-3003"))
    await asyncio.wait_for(blocking.started.wait(), 5)
    while claims_of(uow_factory, "tg-3003") == 0:  # the claim is committed before the NLU answers
        await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    # Cancelled while its first transaction was still returning, the turn gives the claim
    # back as soon as that transaction is done; otherwise before the task ends.
    for _ in range(500):
        if claims_of(uow_factory, "tg-3003") == 0:
            break
        await asyncio.sleep(0.01)
    assert claims_of(uow_factory, "tg-3003") == 0

    blocking.go.set()
    await chat.say(TEXT, event_id="tg-3003")
    chat.expect("I'll open this case")


async def test_a_refused_rule_is_not_a_failure(chat_service_pair: tuple[Chat, CaseService],
                                               uow_factory: SqlUnitOfWorkFactory) -> None:
    chat, _service = chat_service_pair
    await chat.say("CX-999999 any update?", event_id="tg-4004")
    chat.expect("CX-999999")
    assert claims_of(uow_factory, "tg-4004") == 1  # an answered turn keeps its claim


@pytest.fixture
def chat_service_pair(service: CaseService, uow_factory: SqlUnitOfWorkFactory, relay: Relay,
                      clock: ManualClock) -> tuple[Chat, CaseService]:
    return chat_for(service, uow_factory, relay, clock,
                 FakeClassifier(dict(RULES), default=None)), service


class OutageAfterClaims:
    """The real units of work, except that while ``down`` every new one fails to start, as
    when the database becomes unreachable between a turn's claim and its work."""

    def __init__(self, inner: SqlUnitOfWorkFactory) -> None:
        self.inner = inner
        self.down = False
        self.refused = 0

    def __call__(self, read_only: bool = False) -> Any:
        if self.down:
            self.refused += 1
            raise ConnectionError("the database is unreachable")
        return self.inner(read_only)

    def one_transaction(self) -> Any:
        return self.inner.one_transaction()

    def is_outage(self, exc: BaseException) -> bool:
        return isinstance(exc, ConnectionError) or self.inner.is_outage(exc)


async def test_an_attempt_that_died_after_its_claim_is_processed_when_its_lease_runs_out(
        service: CaseService, uow_factory: SqlUnitOfWorkFactory, relay: Relay,
        clock: ManualClock) -> None:
    chat = chat_for(service, uow_factory, relay, clock, FakeClassifier(dict(RULES), default=None))
    await chat.say(TEXT)
    await chat.press("Open the case")
    # A process claimed the event and was killed before it saved anything: its lease stays.
    with uow_factory() as uow:
        assert uow.inbound.claim("telegram", "tg-7007", clock.now(), timedelta(seconds=30))
        uow.commit()
    detail = "the delivery driver says he left it at the door but nothing was there"
    # The platform's redelivery while the lease is live is asked to come back later...
    with pytest.raises(EventInProgress):
        await chat.say(detail, event_id="tg-7007")
    # ...and once the lease has run out it is processed, once.
    clock.advance(timedelta(seconds=31))
    await chat.say(detail, event_id="tg-7007")
    chat.expect("CX-000001")
    assert await chat.say(detail, event_id="tg-7007") == []
    assert [m.text for m in service.get_case("CX-000001").messages].count(detail) == 1


async def test_a_database_outage_between_claim_and_work_loses_nothing(
        service: CaseService, uow_factory: SqlUnitOfWorkFactory, relay: Relay,
        clock: ManualClock) -> None:
    outage = OutageAfterClaims(uow_factory)
    service.uow = outage
    chat = Chat(make_engine(service, outage, relay, clock,  # type: ignore[arg-type]
                            classifier=FakeClassifier(dict(RULES), default=None)), uow_factory)
    register(service, chat)
    await chat.say(TEXT)
    await chat.press("Open the case")
    detail = "the delivery driver says he left it at the door but nothing was there"

    # The claim commits; then the database goes away for every later unit of the turn,
    # including the one that would give the claim back.
    original_begin = chat.engine._begin

    def begin_then_outage(msg: Any) -> Any:
        started = original_begin(msg)
        outage.down = True
        return started

    chat.engine._begin = begin_then_outage  # type: ignore[method-assign]
    with pytest.raises(ConnectionError):
        await chat.say(detail, event_id="tg-8008")
    assert outage.refused >= 2  # the work and the release were both refused
    chat.engine._begin = original_begin  # type: ignore[method-assign]
    outage.down = False

    # The database is back. Redeliveries within the lease wait; after it, processed once.
    with pytest.raises(EventInProgress):
        await chat.say(detail, event_id="tg-8008")
    clock.advance(timedelta(seconds=31))
    await chat.say(detail, event_id="tg-8008")
    assert await chat.say(detail, event_id="tg-8008") == []
    assert [m.text for m in service.get_case("CX-000001").messages].count(detail) == 1
