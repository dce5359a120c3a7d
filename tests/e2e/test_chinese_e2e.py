"""The main Chinese paths with the real Rasa model (issue 16): open a case, check its status
with "CX-000012的进度怎么样", flag it urgent, reopen it. Driven through the engine entry point
on a real database, like tests/e2e/test_engine_e2e.py.

The assertions are on behaviour (the case opened with the right type and order, the status of
the right case answered and nothing added to it, the urgent flag set, the reopened case linked),
not on wording: the Chinese texts have their own tests. Buttons are pressed by their payload.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import pytest

from bot import i18n
from bot.cases import CaseService
from bot.clock import ManualClock
from bot.dialogue.common import OK
from bot.dialogue.intake import KB_NO
from bot.relay import Relay
from nlu.client import RasaClassifier
from storage.uow import SqlUnitOfWorkFactory
from tests.unit.chat_harness import Chat, make_engine, register

pytestmark = pytest.mark.rasa

ORDER = "240518K7QW93XZ"
CASE_NUMBER = re.compile(r"CX-\d{6}")


@pytest.fixture
async def chat(rasa_url: str, service: CaseService, uow_factory: SqlUnitOfWorkFactory, relay: Relay,
               clock: ManualClock) -> AsyncIterator[Chat]:
    classifier = RasaClassifier(rasa_url)  # FRONTDOOR_NLU_URL's server when set
    c = Chat(make_engine(service, uow_factory, relay, clock, classifier=classifier), uow_factory,
             name="王芳")
    seller = register(service, c, "王芳的店")
    service.set_preferences(seller.id, language=i18n.CHINESE)
    yield c
    await classifier.aclose()


def _other_sellers_cases(service: CaseService, count: int) -> None:
    """``count`` cases of other sellers first, so the Chinese seller's case is CX-<count + 1>."""
    for index in range(count):
        if index % 5 == 0:  # the daily cap is per seller
            filler = service.register(
                service.identify("telegram", f"9{index}", f"9{index}", "Filler")[0].id,
                service.create_invitation(f"Filler {index}").code)
        service.open_case(filler.id, "order", f"buyer wants a refund, order number {index}",
                          order_id=f"111-{index:07d}-1234567")


async def _press(chat: Chat, payload: str) -> None:
    (button,) = [b for r in chat.replies for b in r.buttons if b.payload == payload]
    await chat.send(button=button.payload, text=button.label)


async def _open(chat: Chat, service: CaseService, text: str) -> str:
    """Say ``text`` and go through intake (the self-help article if one is offered, then the
    confirmation) by payload; return the number of the case that was opened."""
    before = {case.number for case in service.search_cases()}
    await chat.say(text)
    for _ in range(4):
        offered = {b.payload for r in chat.replies for b in r.buttons}
        if KB_NO in offered:
            await _press(chat, KB_NO)
        elif OK in offered:
            await _press(chat, OK)
        else:
            break
    opened = [case.number for case in service.search_cases() if case.number not in before]
    assert len(opened) == 1, "\n".join(chat.transcript[-12:])
    return opened[0]


async def test_open_status_urgent_and_reopen_in_chinese(chat: Chat, service: CaseService,
                                                        clock: ManualClock) -> None:
    _other_sellers_cases(service, 11)
    number = await _open(chat, service, f"订单{ORDER}的包裹被快递弄丢了，物流信息十天没有更新，"
                                        "买家天天来问")
    assert number == "CX-000012"
    case = service.get_case(number).case
    assert (case.case_type, case.order_id) == ("shipping", ORDER)

    # Status of the right case: it is named, no other case is, and nothing is added to it.
    messages = len(service.get_case(number).messages)
    await chat.say("CX-000012的进度怎么样")
    assert set(CASE_NUMBER.findall(chat.text)) == {number}, chat.text
    assert len(service.get_case(number).messages) == messages

    # Urgent, by its number in Chinese text.
    await chat.say("这个问题非常紧急，CX-000012号请马上加急处理")
    assert service.get_case(number).case.urgent

    # Closed, then reopened in Chinese: a new case linked to it.
    service.change_status(number, "closed")
    clock.advance(days=1)
    await chat.say("问题又出现了，请把ＣＸ－０００１２重新打开")
    reopened = service.get_case("CX-000013")
    assert reopened.reopened_from == number
    assert reopened.case.case_type == "shipping"


async def test_full_width_order_opens_a_payment_case(chat: Chat, service: CaseService) -> None:
    number = await _open(chat, service, "订单２４０５１８Ｋ７ＱＷ９３ＸＺ的货款到现在还没有打到我的账户，"
                                        "结算周期早就过了")
    case = service.get_case(number).case
    assert (case.case_type, case.order_id) == ("payment", ORDER)
