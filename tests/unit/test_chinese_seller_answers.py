"""A Chinese seller's bare answers to an agent (compare test_answers_to_agents.py): "是的",
"没有", a tracking number belong in the agent's case, with the NLU model or without it; "好的"
is an acknowledgement like "ok" (filed when the agent asked a question, not after a
statement). ZH_RULES stands in for the Rasa model reading Chinese yes and no
(nlu/rasa/data/zh_replies.yml). SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from bot.cases import CaseService
from bot.clock import ManualClock
from bot.dialogue.answers import is_acknowledgement, reads_as_no, reads_as_yes
from bot.relay import Relay
from storage.uow import SqlUnitOfWorkFactory
from tests.fakes import FakeClassifier
from tests.unit.chat_harness import RULES, Chat, make_engine, register

ORDER = "123-1234567-1234567"
ZH_RULES = {"是的": "affirm", "好的": "affirm", "对": "affirm", "已经收到": "affirm",
            "不是": "deny", "没有": "deny"}


@pytest.mark.parametrize("typed", ["是", "是的", "对", "好", "好的", "可以", "是的，谢谢", "对啊"])
def test_a_chinese_yes_reads_as_yes_without_the_nlu(typed: str) -> None:
    assert reads_as_yes(typed) and not reads_as_no(typed)


@pytest.mark.parametrize("typed", ["不", "不是", "没有", "还没有", "不用", "不用了，谢谢", "没有呢"])
def test_a_chinese_no_reads_as_no_without_the_nlu(typed: str) -> None:
    assert reads_as_no(typed) and not reads_as_yes(typed)


@pytest.mark.parametrize("typed", ["是的，但是买家说没收到", "对了，我还有个问题"])
def test_a_chinese_statement_that_starts_like_an_answer_is_neither(typed: str) -> None:
    assert not reads_as_yes(typed) and not reads_as_no(typed)


@pytest.mark.parametrize("typed", ["好的", "收到", "知道了", "好的，谢谢", "ok"])
def test_a_chinese_acknowledgement_is_one(typed: str) -> None:
    assert is_acknowledgement(typed)


def _texts(service: CaseService, number: str) -> list[str]:
    return [m.text for m in service.get_case(number).messages]


def _chinese_chat(service: CaseService, uow_factory: SqlUnitOfWorkFactory, relay: Relay,
                  clock: ManualClock, nlu_up: bool = True) -> tuple[Chat, int, int]:
    classifier = FakeClassifier(dict(RULES) | ZH_RULES, default=None, available=nlu_up)
    chat = Chat(make_engine(service, uow_factory, relay, clock, classifier=classifier),
                uow_factory)
    seller = register(service, chat)
    service.set_preferences(seller.id, "zh_CN")
    with uow_factory() as uow:
        identity = uow.identities.find(chat.channel, chat.user)
    assert identity is not None
    return chat, seller.id, identity.id


@pytest.mark.parametrize("answer", ["是的", "不是", "对", "没有", "已经收到了", "３", "yes"])
@pytest.mark.parametrize("nlu", ["model", "down"])
async def test_a_bare_chinese_answer_to_an_agent_is_filed_in_the_agents_case(
        service: CaseService, uow_factory: SqlUnitOfWorkFactory, relay: Relay,
        clock: ManualClock, answer: str, nlu: str) -> None:
    chat, seller_id, identity_id = _chinese_chat(service, uow_factory, relay, clock,
                                                 nlu_up=nlu == "model")
    case = service.open_case(seller_id, "shipping", f"my order {ORDER} never arrived", ORDER,
                             identity_id=identity_id).case
    clock.advance(minutes=5)
    service.agent_reply(case.number, "agent1", "Did the buyer receive the replacement parcel?")
    service.change_status(case.number, "pending")
    clock.advance(minutes=5)
    await chat.say(answer)
    assert answer in _texts(service, case.number)


@pytest.mark.parametrize("ack", ["ok", "好的"])
@pytest.mark.parametrize("nlu", ["model", "down"])
async def test_hao_de_answers_an_agents_question_but_not_an_agents_statement_like_ok(
        service: CaseService, uow_factory: SqlUnitOfWorkFactory, relay: Relay,
        clock: ManualClock, ack: str, nlu: str) -> None:
    chat, seller_id, identity_id = _chinese_chat(service, uow_factory, relay, clock,
                                                 nlu_up=nlu == "model")
    asked = service.open_case(seller_id, "shipping", f"my order {ORDER} never arrived", ORDER,
                              identity_id=identity_id).case.number
    clock.advance(minutes=5)
    service.agent_reply(asked, "agent1", "Shall I ask the courier to return it to you?")
    clock.advance(minutes=5)
    await chat.say(ack)
    assert ack in _texts(service, asked)

    clock.advance(hours=1)
    service.agent_reply(asked, "agent1", "Done, the courier will bring it back on Monday.")
    clock.advance(minutes=5)
    await chat.say(ack)
    assert _texts(service, asked).count(ack) == 1


@pytest.mark.parametrize("answer", ["是的", "对", "yes"])
async def test_a_chinese_yes_to_an_agent_is_not_the_answer_to_an_older_which_case_question(
        service: CaseService, uow_factory: SqlUnitOfWorkFactory, relay: Relay,
        clock: ManualClock, answer: str) -> None:
    chat, seller_id, identity_id = _chinese_chat(service, uow_factory, relay, clock)
    bank = service.open_case(seller_id, "payment", "my disbursement never reached my bank",
                             None, identity_id=identity_id).case.number
    parcel = service.open_case(seller_id, "shipping", f"my order {ORDER} never arrived",
                               ORDER, identity_id=identity_id).case.number
    await chat.say(f"status of {parcel}")
    clock.advance(minutes=1)
    await chat.say("the buyer wants a refund now")
    clock.advance(minutes=30)
    service.agent_reply(bank, "agent1", "Have you updated your bank details in the portal?")
    clock.advance(minutes=5)
    await chat.say(answer)
    assert "the buyer wants a refund now" not in _texts(service, parcel)
    assert answer in _texts(service, bank)


@pytest.mark.parametrize("answer", ["是的", "yes"])
async def test_a_chinese_yes_to_an_agent_does_not_close_a_case_offered_for_closing(
        service: CaseService, uow_factory: SqlUnitOfWorkFactory, relay: Relay,
        clock: ManualClock, answer: str) -> None:
    chat, seller_id, identity_id = _chinese_chat(service, uow_factory, relay, clock)
    bank = service.open_case(seller_id, "payment", "my disbursement never reached my bank",
                             None, identity_id=identity_id).case.number
    parcel = service.open_case(seller_id, "shipping", f"my order {ORDER} never arrived",
                               ORDER, identity_id=identity_id).case.number
    await chat.say(f"close {bank}")
    clock.advance(minutes=20)
    service.agent_reply(parcel, "agent1", "Did the buyer get the replacement parcel?")
    clock.advance(minutes=5)
    await chat.say(answer)
    assert service.get_case(bank).case.status != "closed"
    assert answer in _texts(service, parcel)
