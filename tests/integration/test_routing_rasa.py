"""The issue 11 transcripts with the real Rasa model (the ``rasa_url`` fixture) reading the
seller: out-of-scope text said with full confidence is never filed, an answer to an agent goes
to the agent's case, a rating typed in words is the rating and a bare "4" is filed nowhere.
On SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.cases import CaseService
from bot.clock import ManualClock
from bot.dialogue.state import DialogueState
from bot.relay import Relay
from nlu.client import RasaClassifier
from storage.uow import SqlUnitOfWorkFactory
from tests.unit.chat_harness import Chat, make_engine, register

ORDER = "123-1234567-1234567"
BANK = "my disbursement of last week never reached my bank account"
PARCEL = f"my order {ORDER} never arrived, the buyer is waiting since Monday"


@pytest.fixture
async def rasa(rasa_url: str) -> AsyncIterator[RasaClassifier]:
    async with RasaClassifier(rasa_url, timeout=10) as nlu:
        yield nlu


@pytest.fixture
def chat(rasa: RasaClassifier, service: CaseService, uow_factory: SqlUnitOfWorkFactory,
         relay: Relay, clock: ManualClock) -> Chat:
    c = Chat(make_engine(service, uow_factory, relay, clock, classifier=rasa), uow_factory)
    register(service, c)
    return c


def opened(service: CaseService, chat: Chat, uow_factory: SqlUnitOfWorkFactory,
           clock: ManualClock, case_type: str, text: str, order: str | None) -> str:
    """A case opened from this chat, and the conversation left on it (as the engine does)."""
    with uow_factory() as uow:
        identity = uow.identities.find(chat.channel, chat.user)
        assert identity is not None and identity.seller_id is not None
    result = service.open_case(identity.seller_id, case_type, text, order,
                               identity_id=identity.id)
    with uow_factory() as uow:
        state = DialogueState(uow.dialogue.load(chat.channel, chat.user))
        state.remember_case(result.case.number, case_type, clock.now())
        uow.dialogue.save(chat.channel, chat.user, state.dump(), clock.now())
        uow.commit()
    return result.case.number


def texts(service: CaseService, number: str) -> list[str]:
    return [m.text for m in service.get_case(number).messages]


async def test_the_issue_transcripts_with_the_real_model(
        chat: Chat, service: CaseService, uow_factory: SqlUnitOfWorkFactory,
        clock: ManualClock) -> None:
    bank = opened(service, chat, uow_factory, clock, "payment", BANK, None)
    parcel = opened(service, chat, uow_factory, clock, "shipping", PARCEL, ORDER)
    clock.advance(minutes=1)

    for message in ("whats the weather like in colombo tomorrow",
                    "can you write me a poem about cats"):
        await chat.say(message)
        chat.expect("I can only help")
    assert texts(service, parcel) == [PARCEL]

    service.agent_reply(bank, "agent1", "Could you update your bank details and tell me?")
    clock.advance(minutes=1)
    await chat.say("done, updated the bank details just now")
    chat.expect(f"Added to {bank}")
    assert texts(service, parcel) == [PARCEL]

    clock.advance(minutes=1)
    service.change_status(parcel, "resolved")
    clock.advance(minutes=1)
    await chat.say("terrible, nobody even answered me")
    chat.expect(f"your feedback on {parcel}")
    await chat.say("4")
    chat.expect("not sure what")
    evaluation = service.get_case(parcel).evaluation
    assert evaluation is not None and evaluation.level == "disappointing"
    assert texts(service, parcel) == [PARCEL]
    assert texts(service, bank)[-1] == "done, updated the bank details just now"
