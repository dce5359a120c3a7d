"""A rating typed in Chinese after the evaluation prompt: "非常失望，根本没有人回复我" is
Very Disappointing with its reason, as "terrible, nobody even answered me" is in English; not
a follow-up that reopens the case, nor a request for a person. Chinese reasons are filed
under their codes and Chinese skip words skip the reason (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest

from bot.cases import CaseService
from bot.clock import ManualClock
from bot.dialogue.answers import rating
from bot.dialogue.evaluation import reason_from_text
from bot.domain import Evaluation
from bot.relay import Relay
from storage.uow import SqlUnitOfWorkFactory
from tests.fakes import FakeClassifier
from tests.unit import chat_harness
from tests.unit.chat_harness import RULES, Chat, make_engine, register

chat = chat_harness.chat
engine = chat_harness.engine

ORDER = "123-1234567-1234567"


@pytest.mark.parametrize(("typed", "read"), [
    ("非常失望，根本没有人回复我", ("disappointing", "根本没有人回复我")),
    ("非常失望", ("disappointing", "")),
    ("说实话，太差了！等了一个星期", ("disappointing", "等了一个星期")),
    ("不满意。问题没解决", ("disappointing", "问题没解决")),
    ("一般吧", ("so_so", "")),
    ("还行，就是有点慢", ("so_so", "就是有点慢")),
    ("值得点赞", ("like", "")),
    ("很好，谢谢", ("like", "谢谢")),
    ("一般来说我不会投诉", None),  # "generally speaking": no rating
    ("很好奇为什么要这么久", None),  # "curious": no rating
    ("terrible, nobody even answered me", ("disappointing", "nobody even answered me")),
])
def test_a_typed_chinese_rating_and_its_words(typed: str,
                                              read: tuple[str, str] | None) -> None:
    assert rating(typed) == read


@pytest.mark.parametrize(("reason", "code"), [
    ("根本没有人回复我", "slow_reply"),
    ("客服回复太慢了", "slow_reply"),
    ("问题还是没解决", "problem_not_solved"),
    ("说明看不懂", "unclear_answer"),
    ("客服态度很差", "unfriendly"),
    ("下次希望能更主动一点", "other"),
])
def test_a_chinese_reason_is_filed_under_its_code(reason: str, code: str) -> None:
    assert reason_from_text(reason) == code


async def _resolved(chat: Chat, service: CaseService, chinese: bool) -> None:
    if chinese:
        await chat.command("language")
        await chat.press("简体中文")
    await chat.say(f"my order {ORDER} never arrived, the buyer is waiting since Monday")
    await chat.press("创建工单" if chinese else "Open the case")
    service.change_status("CX-000001", "resolved")


def _rating(service: CaseService) -> Evaluation:
    ev = service.get_case("CX-000001").evaluation
    assert ev is not None, "CX-000001 has no rating"
    return ev


@pytest.mark.parametrize(("chinese", "typed", "reason"), [
    (False, "terrible, nobody even answered me", "nobody even answered me"),
    (True, "非常失望，根本没有人回复我", "根本没有人回复我"),
])
async def test_a_typed_rating_after_the_prompt_is_recorded_with_its_reason(
        chat: Chat, service: CaseService, chinese: bool, typed: str, reason: str) -> None:
    await _resolved(chat, service, chinese)
    await chat.say(typed)
    chat.expect("谢谢您的反馈" if chinese else "Thanks for telling us")
    ev = _rating(service)
    assert (ev.level, ev.reason_code, ev.reason) == ("disappointing", "slow_reply", reason)
    detail = service.get_case("CX-000001")
    assert detail.case.status == "resolved"  # a rating, not a follow-up that reopens it
    assert typed not in [m.text for m in detail.messages]


async def test_a_chinese_rating_the_model_reads_as_a_request_for_a_person_is_a_rating(
        service: CaseService, uow_factory: SqlUnitOfWorkFactory, relay: Relay,
        clock: ManualClock) -> None:
    # The Rasa model reads "非常失望，根本没有人回复我" as talk_to_human (0.59).
    classifier = FakeClassifier(dict(RULES) | {"失望": "talk_to_human"}, default=None)
    chat = Chat(make_engine(service, uow_factory, relay, clock, classifier=classifier),
                uow_factory)
    register(service, chat)
    await _resolved(chat, service, chinese=True)
    await chat.say("非常失望，根本没有人回复我")
    assert _rating(service).level == "disappointing"
    assert not service.get_case("CX-000001").case.needs_human


async def test_a_bare_chinese_rating_asks_for_the_reason_and_a_chinese_skip_skips_it(
        chat: Chat, service: CaseService) -> None:
    await _resolved(chat, service, chinese=True)
    await chat.say("非常失望")
    chat.expect("哪里可以做得更好")
    assert _rating(service).level == "disappointing"
    await chat.say("不用了")
    chat.expect("好的，不填原因")
    ev = _rating(service)
    assert (ev.level, ev.reason_code, ev.reason) == ("disappointing", None, None)
