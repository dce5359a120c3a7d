"""A Chinese seller's account-health appeal: each part of the plan of action is measured in
words that count Chinese characters (the same way as an English plan's words), so a
substantial Chinese plan is accepted and submitted, and a thin one is still refused
(SQLite and PostgreSQL)."""

from __future__ import annotations

from bot.cases import CaseService
from bot.clock import ManualClock
from bot.relay import Relay
from storage.uow import SqlUnitOfWorkFactory
from tests.fakes import FakeClassifier
from tests.unit.chat_harness import RULES, Chat, make_engine, register

ROOT = ("五月份仓库有两名员工休假，导致十四个订单在处理时间之后才发货，"
        "我们的迟发率因此超过了百分之四，这是我们排班安排不当造成的，我们已经认识到问题的严重性。")
ACTIONS = ("我们临时雇用了一名打包员，在二十四小时内发出了所有未发货的订单，"
           "并向受影响的买家退还了运费，同时逐一联系买家说明情况并致歉，买家均已表示理解。")
PREVENTION = ("我们现在安排了一名后备打包员随时待命，节假日期间把处理时间设为三天，"
              "并且每天早上检查迟发报告，一旦发现异常立即处理，确保不再发生同样的问题。")


async def _chinese_seller(service: CaseService, uow_factory: SqlUnitOfWorkFactory, relay: Relay,
                          clock: ManualClock) -> Chat:
    classifier = FakeClassifier(dict(RULES) | {"账户被暂停": "account_health"}, default=None)
    chat = Chat(make_engine(service, uow_factory, relay, clock, classifier=classifier),
                uow_factory)
    register(service, chat)
    await chat.command("language")
    await chat.press("简体中文")
    return chat


async def test_a_chinese_plan_of_action_is_accepted_and_submitted(
        service: CaseService, uow_factory: SqlUnitOfWorkFactory, relay: Relay,
        clock: ManualClock) -> None:
    chat = await _chinese_seller(service, uow_factory, relay, clock)
    await chat.say("收到绩效通知以后我的账户被暂停了")
    chat.expect("1/3 根本原因")
    await chat.say(ROOT)
    chat.expect("2/3 已采取的措施")
    await chat.say(ACTIONS)
    chat.expect("3/3 预防措施")
    await chat.say(PREVENTION)
    chat.expect("您的行动计划", "确认提交申诉吗？")
    await chat.press("提交申诉")
    text = service.get_case("CX-000001").messages[0].text
    assert ROOT in text and ACTIONS in text and PREVENTION in text


async def test_a_thin_chinese_root_cause_is_still_refused(
        service: CaseService, uow_factory: SqlUnitOfWorkFactory, relay: Relay,
        clock: ManualClock) -> None:
    chat = await _chinese_seller(service, uow_factory, relay, clock)
    await chat.say("收到绩效通知以后我的账户被暂停了")
    await chat.say("员工休假了，发货晚了")
    chat.expect("这些内容写申诉还不够", "至少 60 个字符")
    chat.expect_not("2/3")
