"""A message is not lost when its turn fails: the event's claim is given back, or, when the
attempt died or lost the database, its lease runs out, so the platform's redelivery of the same
event is processed (and a replay after success is not)."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.cases import CaseService
from bot.classification import Classification
from bot.clock import ManualClock
from bot.inbound_claims import EventInProgress
from bot.relay import Relay
from bot.texts import t
from storage.models import ProcessedEventRow
from storage.uow import SqlUnitOfWorkFactory
from tests.fakes import FakeClassifier
from tests.unit.chat_harness import RULES, Chat, make_engine, register

ORDER = "123-1234567-1234567"
TEXT = f"my order {ORDER} never arrived, the buyer is waiting since Monday"


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


def _claims(uow_factory: SqlUnitOfWorkFactory, event_id: str) -> int:
    with uow_factory() as uow:
        return int(uow.session.scalar(select(func.count()).select_from(ProcessedEventRow)
                                      .where(ProcessedEventRow.event_id == event_id)) or 0)


def break_the_first_reply(relay: Relay, monkeypatch: pytest.MonkeyPatch) -> None:
    """The next reply the engine queues fails as if the database went away; later ones work."""
    original = relay.to_identity
    calls = {"n": 0}

    def broken_once(*args: Any, **kwargs: Any) -> int | None:
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("the database went away while queueing the reply")
        return original(*args, **kwargs)

    monkeypatch.setattr(relay, "to_identity", broken_once)


def _fails_after_saving(monkeypatch: pytest.MonkeyPatch, service: CaseService, rule: str,
                        why: str) -> None:
    """``service.<rule>`` does its work (committed), then raises as if the attempt died."""
    original = getattr(service, rule)

    def saved_then_failed(*args: Any, **kwargs: Any) -> Any:
        original(*args, **kwargs)
        raise RuntimeError(why)

    monkeypatch.setattr(service, rule, saved_then_failed)


def _chat(service: CaseService, uow_factory: SqlUnitOfWorkFactory, relay: Relay,
          clock: ManualClock, classifier: Any) -> Chat:
    chat = Chat(make_engine(service, uow_factory, relay, clock, classifier=classifier),
                uow_factory)
    register(service, chat)
    return chat


async def test_a_failed_turn_is_processed_when_the_event_is_redelivered(
        service: CaseService, uow_factory: SqlUnitOfWorkFactory, relay: Relay,
        clock: ManualClock) -> None:
    chat = _chat(service, uow_factory, relay, clock, FlakyClassifier(failures=1))

    await chat.say(TEXT, event_id="tg-1001")
    chat.expect(t("engine.error"))
    assert _claims(uow_factory, "tg-1001") == 0  # given back with the error reply

    # The platform delivers the same event again: this time it is processed.
    await chat.say(TEXT, event_id="tg-1001")
    chat.expect("I'll open this case", f"Order: {ORDER}")
    assert _claims(uow_factory, "tg-1001") == 1

    # A replay of a processed event is still dropped.
    assert await chat.say(TEXT, event_id="tg-1001") == []
    await chat.press("Open the case")
    chat.expect("Opened CX-000001")


async def test_a_turn_that_cannot_be_saved_raises_and_gives_the_event_back(
        service: CaseService, uow_factory: SqlUnitOfWorkFactory, relay: Relay,
        clock: ManualClock, monkeypatch: pytest.MonkeyPatch) -> None:
    chat = _chat(service, uow_factory, relay, clock, FakeClassifier(dict(RULES), default=None))
    break_the_first_reply(relay, monkeypatch)
    with pytest.raises(RuntimeError):
        await chat.say(TEXT, event_id="tg-2002")
    assert _claims(uow_factory, "tg-2002") == 0
    assert chat.outbox() == []  # nothing of the failed turn was queued

    await chat.say(TEXT, event_id="tg-2002")
    chat.expect("I'll open this case")
    assert _claims(uow_factory, "tg-2002") == 1
    await chat.press("Open the case")  # the dialogue state of the retry was saved
    chat.expect("Opened CX-000001")


async def test_a_cancelled_turn_gives_the_event_back(
        service: CaseService, uow_factory: SqlUnitOfWorkFactory, relay: Relay,
        clock: ManualClock) -> None:
    blocking = BlockingClassifier()
    chat = _chat(service, uow_factory, relay, clock, blocking)

    task = asyncio.ensure_future(chat.say(TEXT, event_id="tg-3003"))
    await asyncio.wait_for(blocking.started.wait(), 5)
    while _claims(uow_factory, "tg-3003") == 0:  # the claim is committed before the NLU answers
        await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    # Cancelled while its first transaction was still returning, the turn gives the claim
    # back as soon as that transaction is done; otherwise before the task ends.
    for _ in range(500):
        if _claims(uow_factory, "tg-3003") == 0:
            break
        await asyncio.sleep(0.01)
    assert _claims(uow_factory, "tg-3003") == 0

    blocking.go.set()
    await chat.say(TEXT, event_id="tg-3003")
    chat.expect("I'll open this case")


async def test_a_refused_rule_is_not_a_failure(chat_service_pair: tuple[Chat, CaseService],
                                               uow_factory: SqlUnitOfWorkFactory) -> None:
    chat, _service = chat_service_pair
    await chat.say("CX-999999 any update?", event_id="tg-4004")
    chat.expect("CX-999999")
    assert _claims(uow_factory, "tg-4004") == 1  # an answered turn keeps its claim


@pytest.fixture
def chat_service_pair(service: CaseService, uow_factory: SqlUnitOfWorkFactory, relay: Relay,
                      clock: ManualClock) -> tuple[Chat, CaseService]:
    return _chat(service, uow_factory, relay, clock,
                 FakeClassifier(dict(RULES), default=None)), service


async def test_an_answer_lost_after_the_work_is_recovered_by_the_redelivery(
        service: CaseService, uow_factory: SqlUnitOfWorkFactory, relay: Relay,
        clock: ManualClock, monkeypatch: pytest.MonkeyPatch) -> None:
    chat = _chat(service, uow_factory, relay, clock, FakeClassifier(dict(RULES), default=None))
    await chat.say(TEXT)
    await chat.press("Open the case")

    def always_broken(*_args: Any, **_kwargs: Any) -> None:
        raise RuntimeError("the database is still away")

    monkeypatch.setattr(relay, "to_identity", always_broken)
    detail = "the delivery driver says he left it at the door but nothing was there"
    with pytest.raises(RuntimeError):
        await chat.say(detail, event_id="tg-5006")
    # The work is saved once; the answer is not: the event stays leased, as after a kill
    # between the two.
    assert _claims(uow_factory, "tg-5006") == 1
    assert [m.text for m in service.get_case("CX-000001").messages].count(detail) == 1
    monkeypatch.undo()
    answers_before = len(chat.outbox())

    # The platform redelivers: within the lease it is asked to come back later...
    with pytest.raises(EventInProgress):
        await chat.say(detail, event_id="tg-5006")
    # ...after it, the turn is replayed for its answer only: the seller is told, and the
    # message is not added a second time.
    clock.advance(timedelta(seconds=31))
    await chat.say(detail, event_id="tg-5006")
    chat.expect("CX-000001")
    assert len(chat.outbox()) == answers_before + 1
    assert [m.text for m in service.get_case("CX-000001").messages].count(detail) == 1
    assert await chat.say(detail, event_id="tg-5006") == []  # now done


async def test_a_failed_flow_after_saved_work_keeps_its_claim(
        service: CaseService, uow_factory: SqlUnitOfWorkFactory, relay: Relay,
        clock: ManualClock, monkeypatch: pytest.MonkeyPatch) -> None:
    chat = _chat(service, uow_factory, relay, clock, FakeClassifier(dict(RULES), default=None))
    await chat.say(TEXT)
    await chat.press("Open the case")
    original = service.add_seller_message
    _fails_after_saving(monkeypatch, service, "add_seller_message",
                        "failed after the message was saved")
    detail = "the delivery driver says he left it at the door but nothing was there"
    await chat.say(detail, event_id="tg-6006")
    chat.expect(t("engine.error"))
    assert _claims(uow_factory, "tg-6006") == 1
    monkeypatch.setattr(service, "add_seller_message", original)
    assert await chat.say(detail, event_id="tg-6006") == []
    assert [m.text for m in service.get_case("CX-000001").messages].count(detail) == 1


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

    def is_outage(self, exc: BaseException) -> bool:
        return isinstance(exc, ConnectionError) or self.inner.is_outage(exc)


async def test_an_attempt_that_died_after_its_claim_is_processed_when_its_lease_runs_out(
        service: CaseService, uow_factory: SqlUnitOfWorkFactory, relay: Relay,
        clock: ManualClock) -> None:
    chat = _chat(service, uow_factory, relay, clock, FakeClassifier(dict(RULES), default=None))
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


async def test_asking_for_a_person_while_opening_is_saved_with_the_case(
        service: CaseService, uow_factory: SqlUnitOfWorkFactory, relay: Relay,
        clock: ManualClock, monkeypatch: pytest.MonkeyPatch) -> None:
    """The new case and the seller's request for a person commit together. An attempt that
    dies right after the case is saved cannot leave it without the flag: a redelivery replays
    a worked turn for its answer only, so a second commit of the turn would be lost."""
    chat = _chat(service, uow_factory, relay, clock, FakeClassifier(dict(RULES), default=None))
    await chat.say("real person please")
    await chat.press("Orders")
    await chat.say(ORDER)
    await chat.say("The buyer received the wrong colour and wants an exchange.")
    _fails_after_saving(monkeypatch, service, "open_case",
                        "the attempt died right after the case was saved")
    await chat.press("Open the case")

    case = service.get_case("CX-000001").case
    assert case.needs_human
    assert [e.kind for e in service.get_case("CX-000001").events].count("needs_human") == 1


async def test_asking_for_a_person_on_a_case_a_double_tap_opened_is_saved_with_the_message(
        service: CaseService, uow_factory: SqlUnitOfWorkFactory, relay: Relay,
        clock: ManualClock, monkeypatch: pytest.MonkeyPatch,
        one_work_commit_per_turn: list[str]) -> None:
    """Another device opened the case a moment earlier: the seller's words go into it, and
    their request for a person is saved in the same commit. An attempt that dies right after
    the message is saved cannot leave the case without the flag."""
    chat = Chat(make_engine(service, uow_factory, relay, clock,
                            classifier=FakeClassifier(dict(RULES), default=None)), uow_factory)
    seller = register(service, chat)
    await chat.say("real person please")
    await chat.press("Orders")
    await chat.say(ORDER)
    description = "The buyer received the wrong colour and wants an exchange."
    await chat.say(description)
    other_device = service.open_case(seller.id, "order", "wrong colour", ORDER)
    assert other_device.created
    _fails_after_saving(monkeypatch, service, "add_seller_message",
                        "the attempt died right after the message was saved")
    await chat.press("Open the case")

    detail = service.get_case(other_device.case.number)
    assert detail.case.needs_human
    assert [e.kind for e in detail.events].count("needs_human") == 1
    assert [m.text for m in detail.messages].count(description) == 1
    assert one_work_commit_per_turn == []


@pytest.mark.parametrize(("rule", "reason"), [
    ("set_urgent", "this is really urgent pls, i need the money to pay my supplier"),
    ("keep_open", "please give me more time, I am waiting for the courier report next week"),
    ("request_human", "real person please, the courier lost two of my parcels this month"),
])
async def test_the_reason_typed_with_an_action_is_saved_with_it(
        rule: str, reason: str, service: CaseService, uow_factory: SqlUnitOfWorkFactory,
        relay: Relay, clock: ManualClock, monkeypatch: pytest.MonkeyPatch) -> None:
    """"Urgent", "keep it open" or "a person" with a reason: the action and the reason commit
    together, so an attempt that dies right after the action is saved has not lost the reason."""
    chat = _chat(service, uow_factory, relay, clock, FakeClassifier(dict(RULES), default=None))
    await chat.say(TEXT)
    await chat.press("Open the case")
    service.change_status("CX-000001", "pending")
    _fails_after_saving(monkeypatch, service, rule, "the attempt died right after the action")
    await chat.say(reason)

    detail = service.get_case("CX-000001")
    assert detail.case.urgent or detail.case.keep_open_count == 1 or detail.case.needs_human
    assert [m.text for m in detail.messages].count(reason) == 1
