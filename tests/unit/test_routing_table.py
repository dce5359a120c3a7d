"""Routing decisions as a table: a conversation state, a message, and where the message must
end up (a case, or none) with what the bot answers.

Each row builds its state from scratch through the case rules (cases opened, an agent's
reply or a status notice relayed to this chat, the case the seller was last talking about
kept in the dialogue state as the engine keeps it), sends one message through the real
engine, and checks both the answer and the database: the message text is in the expected
case and in no other. On SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from bot.cases import CaseService
from bot.clock import ManualClock
from bot.dialogue.state import DialogueState
from bot.engine import Engine
from bot.relay import Relay
from storage.uow import SqlUnitOfWorkFactory
from tests.fakes import FakeClassifier
from tests.unit.chat_harness import RULES, Chat, make_engine, register

ORDER = "123-1234567-1234567"
ORDER2 = "240518K7QW93XZ"
# The harness's keyword classifier, plus what the transcripts need.
TABLE_RULES = {"poem": "out_of_scope", **RULES}


@dataclass
class World:
    chat: Chat
    service: CaseService
    clock: ManualClock
    uow_factory: SqlUnitOfWorkFactory
    seller_id: int
    identity_id: int

    def open(self, case_type: str | None, text: str, order: str | None = None) -> str:
        result = self.service.open_case(self.seller_id, case_type, text, order,
                                        identity_id=self.identity_id)
        assert result.created
        return result.case.number

    def remember(self, number: str, case_type: str | None) -> None:
        """The seller was talking about ``number`` just now (what the engine keeps)."""
        with self.uow_factory() as uow:
            state = DialogueState(uow.dialogue.load(self.chat.channel, self.chat.user))
            state.remember_case(number, case_type, self.clock.now())
            uow.dialogue.save(self.chat.channel, self.chat.user, state.dump(), self.clock.now())
            uow.commit()

    def later(self, minutes: int = 1) -> None:
        self.clock.advance(minutes=minutes)


Scene = Callable[[World], None]


def fresh(w: World) -> None:
    """A registered seller with no cases."""


def ongoing_shipping(w: World) -> None:
    """CX-000001 (shipping, ORDER) is what the seller is talking about."""
    w.remember(w.open("shipping", f"my order {ORDER} never arrived, the buyer waits", ORDER),
               "shipping")
    w.later()


def agent_asked(w: World) -> None:
    """CX-000001 (payment): an agent asked something after the seller last wrote about
    CX-000002 (shipping, ORDER)."""
    w.open("payment", "my disbursement of last week never reached my bank account")
    w.remember(w.open("shipping", f"my order {ORDER} never arrived, the buyer waits", ORDER),
               "shipping")
    w.later()
    w.service.agent_reply("CX-000001", "agent1", "Please update your bank details, then tell me")
    w.later()


def rating_asked(w: World) -> None:
    """CX-000001 was resolved (the rating prompt came last); CX-000002 was the ongoing case."""
    w.open("shipping", f"my order {ORDER2} never arrived, the buyer waits", ORDER2)
    w.remember(w.open("payment", "my disbursement of last week never reached my bank"),
               "payment")
    w.later()
    w.service.change_status("CX-000001", "resolved")
    w.later()


def pending_recent(w: World) -> None:
    """CX-000001 was set waiting for the seller after they last wrote about CX-000002."""
    w.open("shipping", f"my order {ORDER} never arrived, the buyer waits", ORDER)
    w.remember(w.open("order", f"the buyer wants a refund for {ORDER2}", ORDER2), "order")
    w.later()
    w.service.change_status("CX-000001", "pending")
    w.later()


def pending_old(w: World) -> None:
    """CX-000001 waits for the seller since yesterday; no conversation going on."""
    w.open("shipping", f"my order {ORDER} never arrived, the buyer waits", ORDER)
    w.service.change_status("CX-000001", "pending")
    w.later(minutes=30 * 60)


def ongoing_listing(w: World) -> None:
    w.remember(w.open("listing", "my listing of the red kettle got suppressed"), "listing")
    w.later()


def ongoing_untyped(w: World) -> None:
    w.remember(w.open(None, "I have a question about how the invoices are numbered"), None)
    w.later()


def replied_to_agent(w: World) -> None:
    """An agent's reply on CX-000001 landed in the chat as message 555; the seller was last
    talking about CX-000002."""
    w.open("payment", "my disbursement of last week never reached my bank account")
    w.remember(w.open("shipping", f"my order {ORDER} never arrived, the buyer waits", ORDER),
               "shipping")
    w.later()
    case, msg = w.service.agent_reply("CX-000001", "agent1", "Which bank is it?")
    with w.uow_factory() as uow:
        uow.messages.add_ref(w.chat.channel, w.chat.user, "555", case.id, msg.id)
        uow.commit()
    w.later(minutes=60 * 30)  # long after: a platform reply needs no conversation window


NOWHERE = None
# (scene, message, extra message fields, the case it must land in, a fragment of the answer)
ROWS: list[tuple[Scene, str, dict[str, Any], str | None, str]] = [
    # No case yet.
    (fresh, "hello", {}, NOWHERE, "Hi Acme Ltd"),
    (fresh, "whats the weather like in colombo tomorrow", {}, NOWHERE, "I can only help"),
    (fresh, "4", {}, NOWHERE, "not sure what \"4\" means"),
    (fresh, "ok", {}, NOWHERE, "I'm here if you need"),
    (fresh, f"my order {ORDER} never arrived and the buyer is angry", {}, NOWHERE,
     "I'll open this case"),
    (fresh, "thanks a lot", {}, NOWHERE, "You're welcome"),
    # The seller is talking about a shipping case.
    (ongoing_shipping, "I also checked with my warehouse and they shipped it on time", {},
     "CX-000001", "Added to CX-000001"),
    (ongoing_shipping, "whats the weather like in colombo tomorrow", {}, NOWHERE,
     "I can only help"),
    (ongoing_shipping, "can you write me a poem about cats", {}, NOWHERE, "I can only help"),
    (ongoing_shipping, "thanks", {}, NOWHERE, "You're welcome"),
    (ongoing_shipping, "ok", {}, NOWHERE, "I'm here if you need"),
    (ongoing_shipping, "got it", {}, NOWHERE, "I'm here if you need"),
    (ongoing_shipping, "👍", {}, NOWHERE, "I'm here if you need"),
    (ongoing_shipping, "4", {}, NOWHERE, "not sure what"),
    (ongoing_shipping, "??", {}, NOWHERE, "not sure what"),
    (ongoing_shipping, "yes", {}, NOWHERE, "not waiting for a yes or no"),
    (ongoing_shipping, f"the delivery for {ORDER2} is also late, same carrier", {}, NOWHERE,
     f"Order: {ORDER2}"),
    (ongoing_shipping, "separately, my disbursement of last week is missing from my bank",
     {}, NOWHERE, "Wondering when you'll be paid?"),
    (ongoing_shipping, "the buyer says the box was empty when it came", {}, NOWHERE,
     "Is this about CX-000001, or a new issue?"),
    (ongoing_shipping, f"the tracking for {ORDER} shows it stuck in customs", {}, "CX-000001",
     "Added to CX-000001"),
    (ongoing_shipping, "my listing got suppressed this morning for no reason", {}, NOWHERE,
     "Listing inactive or suppressed?"),
    (ongoing_shipping, "CX-000001", {}, NOWHERE, "CX-000001"),
    (ongoing_shipping, "CX-000001 the buyer has now left negative feedback as well", {},
     "CX-000001", "Added to CX-000001"),
    (ongoing_shipping, "this is really urgent pls, i need the money to pay my supplier", {},
     "CX-000001", "flagged urgent"),
    # An agent asked on another case after the seller's last words.
    (agent_asked, "done, updated the bank details just now", {}, "CX-000001",
     "Added to CX-000001"),
    (agent_asked, "I have sent the screenshot you asked for", {}, "CX-000001",
     "Added to CX-000001"),
    (agent_asked, "thanks", {}, NOWHERE, "You're welcome"),
    (agent_asked, f"the tracking for {ORDER} shows it stuck in customs", {}, "CX-000002",
     "Added to CX-000002"),
    (agent_asked, "the delivery driver never came to the warehouse", {}, "CX-000002",
     "Added to CX-000002"),
    (agent_asked, "my listing got suppressed this morning for no reason", {}, NOWHERE,
     "Is this about CX-000001, or a new issue?"),
    (agent_asked, "whats the weather like in colombo tomorrow", {}, NOWHERE,
     "I can only help"),
    # The rating prompt came last.
    (rating_asked, "terrible, nobody even answered me", {}, NOWHERE,
     "your feedback on CX-000001"),
    (rating_asked, "4", {}, NOWHERE, "Which one do you mean?"),
    (rating_asked, "2", {}, NOWHERE, "your rating (So-so) is recorded"),
    (rating_asked, "great", {}, NOWHERE, "Thanks for the Like"),
    (rating_asked, "4/5", {}, NOWHERE, "Thanks for the Like"),
    (rating_asked, "the parcel is still missing, I checked again today", {}, "CX-000001",
     "Added to CX-000001; it's back with our team"),
    (rating_asked, "ok", {}, NOWHERE, "I'm here if you need"),
    # A case was set waiting for the seller.
    (pending_recent, "here are the documents you asked for", {}, "CX-000001",
     "Added to CX-000001; it's back with our team"),
    (pending_old, "I have attached the invoice they wanted", {}, NOWHERE,
     "Is this about CX-000001, or a new issue?"),
    (pending_old, "whats the weather like in colombo tomorrow", {}, NOWHERE,
     "I can only help"),
    # Cases without an order, or without a type.
    (ongoing_listing, f"also order {ORDER} has a problem with the address", {}, NOWHERE,
     "Is this about CX-000001, or a new issue?"),
    (ongoing_listing, "I changed the main image as you suggested", {}, "CX-000001",
     "Added to CX-000001"),
    (ongoing_untyped, "my disbursement of last week is missing from my bank", {}, NOWHERE,
     "Is this about CX-000001, or a new issue?"),
    (ongoing_untyped, "I forgot to say the account is in my brother's name", {}, "CX-000001",
     "Added to CX-000001"),
    # A platform reply to a relayed agent message.
    (replied_to_agent, "Commercial Bank", {"reply_to_message_id": "555"}, "CX-000001",
     "Added to CX-000001"),
    (replied_to_agent, "thanks", {"reply_to_message_id": "555"}, NOWHERE, "You're welcome"),
    (replied_to_agent, "whats the weather like there", {"reply_to_message_id": "555"},
     NOWHERE, "I can only help"),
]


def _row_id(row: tuple[Scene, str, dict[str, Any], str | None, str]) -> str:
    scene, message, _fields, expected, _answer = row
    return f"{scene.__name__}:{message[:30]}->{expected or 'none'}"


@pytest.fixture
def table_engine(service: CaseService, uow_factory: SqlUnitOfWorkFactory, relay: Relay,
                 clock: ManualClock) -> Engine:
    return make_engine(service, uow_factory, relay, clock,
                       classifier=FakeClassifier(dict(TABLE_RULES), default=None))


def test_the_table_is_big_enough() -> None:
    assert len(ROWS) >= 40
    assert len({_row_id(r) for r in ROWS}) == len(ROWS)


@pytest.mark.parametrize("row", ROWS, ids=[_row_id(r) for r in ROWS])
async def test_routing(row: tuple[Scene, str, dict[str, Any], str | None, str],
                       table_engine: Engine, service: CaseService,
                       uow_factory: SqlUnitOfWorkFactory, clock: ManualClock) -> None:
    scene, message, fields, expected, answer = row
    chat = Chat(table_engine, uow_factory)
    seller = register(service, chat)
    with uow_factory() as uow:
        identity = uow.identities.find(chat.channel, chat.user)
        assert identity is not None
    world = World(chat, service, clock, uow_factory, seller.id, identity.id)
    scene(world)
    before = {c.number: len(service.get_case(c.number).messages) for c in service.search_cases()}

    await chat.say(message, **fields)

    chat.expect(answer)
    holding = [c.number for c in service.search_cases()
               if any(m.text == message for m in service.get_case(c.number).messages)]
    assert holding == ([expected] if expected else []), chat.transcript
    for number, count in before.items():
        grew = len(service.get_case(number).messages) - count
        assert grew == (1 if number == expected else 0), (number, chat.transcript)

