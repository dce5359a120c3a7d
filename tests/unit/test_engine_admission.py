"""At most ``max_concurrent_turns`` seller turns do their database work at once in a process;
the others wait their turn, in order, and every one is answered. Sellers waiting on the NLU
hold no place, so a slow Rasa cannot stop commands and button presses (a typed message waits
for its NLU answer before it queues, whether its turn needs it or not). Under a
flood of seller messages the process thereby keeps room for agents' replies and the outbox
(docs/benchmarks.md, whole service)."""

from __future__ import annotations

import asyncio
from typing import Any

from bot.cases import CaseService
from bot.classification import Classification
from bot.clock import ManualClock
from bot.engine import Engine
from bot.ports import TurnTransaction, UnitOfWorkFactory
from bot.relay import Relay
from storage.uow import SqlUnitOfWorkFactory
from tests.fakes import FakeClassifier
from tests.unit.chat_harness import RULES, Chat, make_engine, register


class CountingTurns:
    """The real unit-of-work factory, counting the seller turns whose transaction is open:
    from ``one_transaction`` until its commit, rollback or close, whichever comes first (a
    turn awaits its commit or rollback before it ends)."""

    def __init__(self, real: SqlUnitOfWorkFactory) -> None:
        self.real = real
        self.open = 0
        self.most_at_once = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.real(*args, **kwargs)

    def one_transaction(self) -> TurnTransaction:
        whole = self.real.one_transaction()
        self.open += 1
        self.most_at_once = max(self.most_at_once, self.open)
        ended = False

        def counted(method: Any) -> Any:
            def call() -> Any:
                nonlocal ended
                try:
                    return method()
                finally:
                    if not ended:
                        ended = True
                        self.open -= 1
            return call

        # On the object itself: the turn's units reach it as the current transaction.
        for name in ("commit", "rollback", "close"):
            setattr(whole, name, counted(getattr(whole, name)))
        return whole


class HeldClassifier:
    """Answers a text once the test lets it go (the keyword rules otherwise)."""

    def __init__(self) -> None:
        self.inner = FakeClassifier(dict(RULES), default=None)
        self.held: dict[str, asyncio.Event] = {}
        self.asked: set[str] = set()

    async def classify(self, text: str) -> Classification:
        self.asked.add(text)
        if text in self.held:
            await self.held[text].wait()
        return await self.inner.classify(text)


def limited(service: CaseService, uow_factory: UnitOfWorkFactory, relay: Relay,
            clock: ManualClock, places: int, classifier: Any = None) -> Engine:
    return make_engine(service, uow_factory, relay, clock,  # type: ignore[arg-type]
                       classifier=classifier, max_concurrent_turns=places)


async def all_say_hello(engine: Engine, service: CaseService, uow_factory: SqlUnitOfWorkFactory,
                        first_user: int, sellers: int = 8) -> list[Any]:
    """``sellers`` registered sellers greet the bot at the same moment; their answers."""
    chats = [Chat(engine, uow_factory, user=str(first_user + n), name=f"Seller {n}")
             for n in range(sellers)]
    for chat in chats:
        register(service, chat, name=f"Shop {chat.user}")
    return list(await asyncio.gather(*(chat.say("hello") for chat in chats)))


async def test_no_more_turns_at_once_than_places_and_every_seller_is_answered(
        service: CaseService, uow_factory: SqlUnitOfWorkFactory, relay: Relay,
        clock: ManualClock) -> None:
    counting = CountingTurns(uow_factory)
    engine = limited(service, counting, relay, clock, places=2)  # type: ignore[arg-type]

    answers = await all_say_hello(engine, service, uow_factory, first_user=200)

    assert all(replies for replies in answers)  # each seller got their greeting
    assert counting.most_at_once == 2
    assert counting.open == 0


async def test_without_a_limit_the_same_turns_run_together(
        service: CaseService, uow_factory: SqlUnitOfWorkFactory, relay: Relay,
        clock: ManualClock) -> None:
    """What the limit changes (the counter above is not blind to overlap)."""
    counting = CountingTurns(uow_factory)
    engine = limited(service, counting, relay, clock, places=0)  # type: ignore[arg-type]

    await all_say_hello(engine, service, uow_factory, first_user=300)

    assert counting.most_at_once > 2


async def test_a_seller_waiting_on_the_nlu_holds_no_place(
        service: CaseService, uow_factory: SqlUnitOfWorkFactory, relay: Relay,
        clock: ManualClock) -> None:
    classifier = HeldClassifier()
    engine = limited(service, uow_factory, relay, clock, places=1, classifier=classifier)
    slow = Chat(engine, uow_factory, user="401", name="Slow")
    other = Chat(engine, uow_factory, user="402", name="Other")
    register(service, slow, name="Shop slow")
    register(service, other, name="Shop other")
    parcel = "my order 123-1234567-1234567 never arrived, the buyer is waiting since Monday"
    classifier.held[parcel] = asyncio.Event()

    waiting = asyncio.create_task(slow.say(parcel))
    while parcel not in classifier.asked:
        await asyncio.sleep(0)
    # The only place is free while the NLU thinks: another seller's command goes through.
    await asyncio.wait_for(other.command("cases"), timeout=10)
    assert other.replies and not waiting.done()

    classifier.held[parcel].set()
    await asyncio.wait_for(waiting, timeout=10)
    slow.expect("123-1234567-1234567")
