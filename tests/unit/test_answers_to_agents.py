"""A seller's bare answer to an agent — "yes", "no, not yet", a tracking number — belongs in
the agent's case: it is neither a yes that nothing asked for, nor the answer to an older
question the bot left open in the same chat."""

from __future__ import annotations

import pytest

from bot.cases import CaseService
from bot.relay import Relay
from tests.fakes import FakeClassifier
from tests.unit.chat_harness import RULES, Chat, make_engine, register

ORDER = "123-1234567-1234567"


def _texts(service: CaseService, number: str) -> list[str]:
    return [m.text for m in service.get_case(number).messages]


def _chat(service: CaseService, uow_factory, relay: Relay, clock) -> tuple[Chat, int, int]:
    engine = make_engine(service, uow_factory, relay, clock,
                         classifier=FakeClassifier(dict(RULES), default=None))
    chat = Chat(engine, uow_factory)
    seller = register(service, chat)
    with uow_factory() as uow:
        identity = uow.identities.find(chat.channel, chat.user)
    return chat, seller.id, identity.id


@pytest.mark.parametrize("answer", ["no, not yet", "yes", "yes it did", "3",
                                    "9400111899223197428490"])
@pytest.mark.parametrize("pending", [False, True], ids=["open", "pending"])
async def test_a_bare_answer_to_an_agent_is_filed_in_the_agents_case(
        service, uow_factory, relay, clock, answer, pending) -> None:
    chat, seller_id, identity_id = _chat(service, uow_factory, relay, clock)
    case = service.open_case(seller_id, "shipping", f"my order {ORDER} never arrived", ORDER,
                             identity_id=identity_id).case
    clock.advance(minutes=5)
    service.agent_reply(case.number, "agent1", "Did the buyer receive the replacement parcel?")
    if pending:
        service.change_status(case.number, "pending")  # "waiting for you" follows the question
    clock.advance(minutes=5)

    await chat.say(answer)

    assert answer in _texts(service, case.number)
    assert service.get_case(case.number).case.status != "pending"  # the seller has answered


async def test_ok_answers_an_agents_question_but_not_an_agents_statement(
        service, uow_factory, relay, clock) -> None:
    chat, seller_id, identity_id = _chat(service, uow_factory, relay, clock)
    asked = service.open_case(seller_id, "shipping", f"my order {ORDER} never arrived", ORDER,
                              identity_id=identity_id).case.number
    clock.advance(minutes=5)
    service.agent_reply(asked, "agent1", "Shall I ask the courier to return it to you?")
    clock.advance(minutes=5)
    await chat.say("ok")
    assert "ok" in _texts(service, asked)

    clock.advance(hours=1)
    service.agent_reply(asked, "agent1", "Done, the courier will bring it back on Monday.")
    clock.advance(minutes=5)
    await chat.say("ok")
    assert _texts(service, asked).count("ok") == 1

    clock.advance(hours=1)
    service.agent_reply(asked, "agent1", "Could you send us the courier's receipt?")
    service.change_status(asked, "pending")  # the notice "waiting for you" follows it
    clock.advance(minutes=5)
    await chat.say("ok")
    assert _texts(service, asked).count("ok") == 2


async def test_yes_to_an_agent_is_not_the_answer_to_an_older_which_case_question(
        service, uow_factory, relay, clock) -> None:
    chat, seller_id, identity_id = _chat(service, uow_factory, relay, clock)
    bank = service.open_case(seller_id, "payment", "my disbursement never reached my bank",
                             None, identity_id=identity_id).case.number
    parcel = service.open_case(seller_id, "shipping", f"my order {ORDER} never arrived",
                               ORDER, identity_id=identity_id).case.number
    await chat.say(f"status of {parcel}")
    clock.advance(minutes=1)
    await chat.say("the buyer wants a refund now")
    chat.expect(f"Is this about {parcel}, or a new issue?")
    clock.advance(minutes=30)
    service.agent_reply(bank, "agent1", "Have you updated your bank details in the portal?")
    clock.advance(minutes=5)

    await chat.say("yes")

    assert "the buyer wants a refund now" not in _texts(service, parcel)
    assert "yes" in _texts(service, bank)
    await chat.press(parcel)  # the bot's question still stands, and its buttons work
    assert "the buyer wants a refund now" in _texts(service, parcel)


async def test_yes_to_an_agent_does_not_open_the_case_an_unfinished_intake_offered(
        service, uow_factory, relay, clock) -> None:
    chat, seller_id, identity_id = _chat(service, uow_factory, relay, clock)
    parcel = service.open_case(seller_id, "shipping", f"my order {ORDER} never arrived",
                               ORDER, identity_id=identity_id).case.number
    await chat.say("my disbursement of last week never reached my bank account")
    for label in ("No, I still need help", "Not about one order"):
        if any(label in b for b in chat.buttons):
            await chat.press(label)
    chat.expect_buttons("Open the case")
    clock.advance(minutes=20)
    service.agent_reply(parcel, "agent1", "Did the buyer get the replacement parcel?")
    clock.advance(minutes=5)

    await chat.say("yes")

    assert [c.number for c in service.search_cases()] == [parcel]
    assert "yes" in _texts(service, parcel)


async def test_yes_to_an_agent_does_not_close_the_case_the_bot_asked_about(
        service, uow_factory, relay, clock) -> None:
    chat, seller_id, identity_id = _chat(service, uow_factory, relay, clock)
    bank = service.open_case(seller_id, "payment", "my disbursement never reached my bank",
                             None, identity_id=identity_id).case.number
    parcel = service.open_case(seller_id, "shipping", f"my order {ORDER} never arrived",
                               ORDER, identity_id=identity_id).case.number
    await chat.say(f"close {bank}")
    chat.expect(bank)
    clock.advance(minutes=20)
    service.agent_reply(parcel, "agent1", "Did the buyer get the replacement parcel?")
    clock.advance(minutes=5)

    await chat.say("yes")

    assert service.get_case(bank).case.status != "closed"
    assert "yes" in _texts(service, parcel)


async def test_a_yes_nothing_asked_for_is_still_not_filed(service, uow_factory, relay,
                                                          clock) -> None:
    chat, seller_id, identity_id = _chat(service, uow_factory, relay, clock)
    case = service.open_case(seller_id, "shipping", f"my order {ORDER} never arrived", ORDER,
                             identity_id=identity_id).case.number
    await chat.say(f"status of {case}")
    clock.advance(minutes=5)

    await chat.say("yes")

    chat.expect("not waiting for a yes or no")
    assert "yes" not in _texts(service, case)


async def test_an_answer_to_an_agents_file_goes_to_the_files_case(service, uow_factory, relay,
                                                                  clock) -> None:
    chat, seller_id, identity_id = _chat(service, uow_factory, relay, clock)
    bank = service.open_case(seller_id, "payment", "my disbursement never reached my bank",
                             None, identity_id=identity_id).case.number
    parcel = service.open_case(seller_id, "shipping", f"my order {ORDER} never arrived",
                               ORDER, identity_id=identity_id).case.number
    service.agent_reply(bank, "agent1", "Have you updated your bank details?")
    clock.advance(minutes=30)
    label = {"kind": "document", "file_id": "F1", "file_name": "return-label.pdf",
             "mime_type": "application/pdf", "size": 2048}
    service.agent_reply(parcel, "agent1", "", attachments=[label])  # only the file
    clock.advance(minutes=5)

    await chat.say("yes")

    assert "yes" in _texts(service, parcel)
    assert "yes" not in _texts(service, bank)


@pytest.mark.parametrize("answer", ["ok", "好的"])
async def test_ok_answers_an_agents_question_sent_with_a_file(service, uow_factory, relay,
                                                              clock, answer) -> None:
    chat, seller_id, identity_id = _chat(service, uow_factory, relay, clock)
    asked = service.open_case(seller_id, "shipping", f"my order {ORDER} never arrived", ORDER,
                              identity_id=identity_id).case.number
    clock.advance(minutes=5)
    label = {"kind": "photo", "file_id": "F1", "file_name": "label.png",
             "mime_type": "image/png", "size": 1000}
    service.agent_reply(asked, "agent1", "Shall I ask the courier to return it to you?",
                        attachments=[label])  # the file is the last item the chat was sent
    clock.advance(minutes=5)

    await chat.say(answer)

    assert answer in _texts(service, asked)


async def test_a_screenshot_without_words_goes_to_the_flow_not_to_the_agents_case(
        service, uow_factory, relay, clock) -> None:
    chat, seller_id, identity_id = _chat(service, uow_factory, relay, clock)
    parcel = service.open_case(seller_id, "shipping", f"my order {ORDER} never arrived",
                               ORDER, identity_id=identity_id).case.number
    await chat.say("my disbursement of last week never reached my bank account")
    for label in ("No, I still need help", "Not about one order"):
        if any(label in b for b in chat.buttons):
            await chat.press(label)
    chat.expect_buttons("Open the case")
    clock.advance(minutes=20)
    service.agent_reply(parcel, "agent1", "Did the buyer get the replacement parcel?")
    clock.advance(minutes=5)

    await chat.photo()

    assert not any(m.attachments for m in service.get_case(parcel).messages)
    await chat.press("Open the case")
    opened = [c.number for c in service.search_cases() if c.number != parcel]
    assert len(opened) == 1
    assert any(m.attachments for m in service.get_case(opened[0]).messages)
