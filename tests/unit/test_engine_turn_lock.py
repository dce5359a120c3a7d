"""One turn at a time per seller in a process, however many messages queue behind it: a third
message that arrives while the second waits must wait too (the per-seller lock used to be
forgotten when the first turn released it, so the second and third ran together, each over the
same dialogue state, and the last save won)."""

from __future__ import annotations

import asyncio

import pytest

from bot.classification import Classification
from bot.identifiers import extract_entities
from bot.keyed_locks import KeyedLocks
from bot.messages import SellerMessage
from tests.fakes import FakeClassifier
from tests.unit.chat_harness import RULES, Chat, make_engine, register

PARCEL = "my order 123-1234567-1234567 never arrived, the buyer is waiting since Monday"


class CountingSlowClassifier:
    """Answers after ``delay`` seconds, counting how many turns ask it at once."""

    def __init__(self) -> None:
        self.inner = FakeClassifier(dict(RULES), default=None)
        self.delay = 0.0
        self.in_flight = 0
        self.most_at_once = 0

    async def classify(self, text: str) -> Classification:
        self.in_flight += 1
        self.most_at_once = max(self.most_at_once, self.in_flight)
        try:
            if self.delay:
                await asyncio.sleep(self.delay)
            result = await self.inner.classify(text)
        finally:
            self.in_flight -= 1
        if result.intent is None:
            return Classification(text, "out_of_scope", 0.95, tuple(extract_entities(text)),
                                  (("out_of_scope", 0.95),))
        return result


async def _draft_waiting_to_open(service, chat: Chat) -> None:
    register(service, chat)
    await chat.say(PARCEL)
    if any("No, I still need help" in b for b in chat.buttons):
        await chat.press("No, I still need help")
    chat.expect_buttons("Open the case")


async def _details_missing_from_the_opened_case(service, chat: Chat,
                                                details: list[str]) -> list[str]:
    await chat.press("Open the case")
    chat.expect("Opened")
    number = next(r.case_number for r in chat.replies if r.case_number)
    body = "\n".join(m.text for m in service.get_case(number).messages)
    return [d for d in details if d not in body]


async def test_a_third_message_waits_behind_the_waiting_second(service, uow_factory, relay,
                                                                clock) -> None:
    classifier = CountingSlowClassifier()
    classifier.delay = 0.3
    engine = make_engine(service, uow_factory, relay, clock, classifier=classifier)
    chat = Chat(engine, uow_factory)
    register(service, chat)

    def line(i: int) -> SellerMessage:
        return SellerMessage(channel="telegram", user_id=chat.user, chat_id=chat.user,
                             display_name="Alice", text=f"line {i} about the weather",
                             event_id=f"lock-{i}")

    first = asyncio.create_task(engine.handle(line(1)))
    await asyncio.sleep(0.05)
    second = asyncio.create_task(engine.handle(line(2)))
    await first
    await asyncio.sleep(0.05)
    third = asyncio.create_task(engine.handle(line(3)))
    await asyncio.gather(second, third)
    assert classifier.most_at_once == 1
    assert len(engine._turns_of) == 0  # nothing kept once every turn is done


async def test_details_typed_quickly_before_opening_all_reach_the_case(service, uow_factory,
                                                                        relay, clock) -> None:
    classifier = CountingSlowClassifier()
    engine = make_engine(service, uow_factory, relay, clock, classifier=classifier)
    chat = Chat(engine, uow_factory)
    await _draft_waiting_to_open(service, chat)

    classifier.delay = 0.3
    details = ["first detail: the parcel left the warehouse on Friday",
               "second detail: the courier was Ceylon Post",
               "third detail: the buyer paid for express"]
    first = asyncio.create_task(chat.say(details[0]))
    await asyncio.sleep(0.05)
    second = asyncio.create_task(Chat(engine, uow_factory).say(details[1]))
    await first
    await asyncio.sleep(0.05)
    third = asyncio.create_task(Chat(engine, uow_factory).say(details[2]))
    await asyncio.gather(second, third)
    classifier.delay = 0.0

    assert await _details_missing_from_the_opened_case(service, chat, details) == []


async def test_details_typed_quickly_into_two_processes_all_reach_the_case(
        service, uow_factory, relay, clock) -> None:
    """Two serve processes (two engines on one database, each with its own per-seller lock)
    get two details of the same draft at once. Both turns start from the draft without either
    detail; the one that saves second used to overwrite the first one's detail. It now finds
    the dialogue moved on, saves nothing of its first run, and runs again from the saved
    draft."""
    classifier = CountingSlowClassifier()
    first_process = make_engine(service, uow_factory, relay, clock, classifier=classifier)
    second_process = make_engine(service, uow_factory, relay, clock, classifier=classifier)
    chat = Chat(first_process, uow_factory)
    await _draft_waiting_to_open(service, chat)

    classifier.delay = 0.3
    details = ["first detail: the parcel left the warehouse on Friday",
               "second detail: the courier was Ceylon Post"]
    first = asyncio.create_task(chat.say(details[0]))
    await asyncio.sleep(0.05)
    second = asyncio.create_task(Chat(second_process, uow_factory).say(details[1]))
    await asyncio.gather(first, second)
    assert classifier.most_at_once == 2  # the two turns did run side by side
    classifier.delay = 0.0

    assert await _details_missing_from_the_opened_case(service, chat, details) == []


async def test_a_turn_cancelled_while_waiting_leaves_no_lock_behind() -> None:
    locks = KeyedLocks()
    entered = asyncio.Event()
    release = asyncio.Event()

    async def holder() -> None:
        async with locks.hold("seller"):
            entered.set()
            await release.wait()

    async def waiter() -> None:
        async with locks.hold("seller"):
            pytest.fail("the cancelled waiter ran")

    holding = asyncio.create_task(holder())
    await entered.wait()
    waiting = asyncio.create_task(waiter())
    await asyncio.sleep(0.01)
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    assert len(locks) == 1
    release.set()
    await holding
    assert len(locks) == 0
