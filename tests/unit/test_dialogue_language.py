"""The seller's language in the chat: where it comes from, /language, the offer to switch,
and dates in the seller's locale and time zone (issue 16)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot import i18n
from bot.cases import CaseService
from bot.clock import ManualClock
from bot.engine import Engine
from bot.errors import InvalidInput
from bot.sweeps import SchedulerConfig, Sweeper
from bot.texts import t
from storage.sweeps import SqlSweepStore
from storage.uow import SqlUnitOfWorkFactory
from tests.unit import chat_harness
from tests.unit.chat_harness import Chat

engine = chat_harness.engine
chat = chat_harness.chat
guest = chat_harness.guest


def _language(service: CaseService, chat: Chat) -> str | None:
    ident, seller = service.identify(chat.channel, chat.user, chat.user, chat.name)
    assert seller is not None
    return seller.language


@pytest.mark.parametrize(("code", "text", "language"), [
    ("zh-hans", "hello there", i18n.CHINESE),  # the app's language
    ("en", "订单240518K7QW93XZ的货款还没到账", i18n.CHINESE),  # what they write wins
    (None, "CX-000012的进度怎么样", i18n.CHINESE),
    ("en-GB", "CX-000012", i18n.ENGLISH),
    ("de", "my payout never arrived", i18n.ENGLISH),
    ("de", "12345", None),  # nothing to tell by: the engine falls back to English
    ("zh-TW", "", i18n.CHINESE),
])
def test_a_new_sellers_language(code: str | None, text: str, language: str | None) -> None:
    assert i18n.detect(code, text) == language


async def test_a_new_seller_registers_in_the_language_they_write(
        guest: Chat, service: CaseService) -> None:
    await guest.say("你好，我想注册")
    guest.expect("仅通过邀请注册卖家")
    # A code of letters only looks like two English words; it must not switch the language.
    invitation = service.create_invitation("深圳小店", code="ZDRW-GEZM")
    await guest.say(invitation.code)
    guest.expect("您已以 深圳小店 的身份注册成功")
    assert _language(service, guest) == i18n.CHINESE
    await guest.say("hello, any update?")  # English now and then: replies stay Chinese
    guest.expect("您")


async def test_a_seller_who_typed_only_a_code_gets_the_language_of_their_first_words(
        guest: Chat, service: CaseService) -> None:
    """No language setting from the channel (the console, Slack, the web) and nothing written
    but the code: English is a guess, and the first message in a language settles it."""
    invitation = service.create_invitation("深圳小店", code="ZDRW-GEZN")
    await guest.say(invitation.code)
    guest.expect("You're registered as 深圳小店")
    await guest.say("12345")  # still nothing to tell by: answered in English, none stored
    assert _language(service, guest) is None

    await guest.say("订单240518K7QW93XZ的货款还没到账，已经十天了")

    guest.expect("这是关于什么的问题")  # answered in Chinese already
    assert _language(service, guest) == i18n.CHINESE
    await guest.say("hello, any update?")  # settled: English now and then stays Chinese
    guest.expect("您")
    assert _language(service, guest) == i18n.CHINESE


async def test_a_choice_made_after_a_code_only_registration_stays(
        guest: Chat, service: CaseService) -> None:
    invitation = service.create_invitation("深圳小店", code="ZDRW-GEZQ")
    await guest.say(invitation.code)
    await guest.say("language")
    await guest.press("简体中文")
    assert _language(service, guest) == i18n.CHINESE

    await guest.say("ok thanks")  # English words after the choice: still Chinese
    guest.expect("不客气")
    assert _language(service, guest) == i18n.CHINESE


async def test_a_language_shown_before_the_code_is_not_a_guess(
        guest: Chat, service: CaseService) -> None:
    await guest.say("hi, I would like to sell on your marketplace")
    invitation = service.create_invitation("Acme Ltd", code="ZDRW-GEZP")
    await guest.say(invitation.code)
    guest.expect("You're registered as Acme Ltd")

    await guest.say("订单240518K7QW93XZ的货款还没到账，已经十天了")

    guest.expect("What is it about?")  # one message is not a switch: still English
    assert _language(service, guest) == i18n.ENGLISH


async def test_a_seller_without_a_language_gets_the_one_they_write_in_stored(
        chat: Chat, service: CaseService) -> None:
    assert _language(service, chat) is None  # registered before languages existed
    await chat.say("hello")
    chat.expect("Hi Acme Ltd!")  # English while nothing tells...
    assert _language(service, chat) is None  # ...one word does not
    await chat.say("hello there")
    assert _language(service, chat) == i18n.ENGLISH


async def test_language_command_switches_both_ways(chat: Chat, service: CaseService) -> None:
    await chat.command("language")
    chat.expect("Which language shall I answer you in?")
    assert chat.buttons == ["English", "简体中文"]
    await chat.press("简体中文")
    chat.expect("好的：今后我会用简体中文回复您。")
    assert _language(service, chat) == i18n.CHINESE
    await chat.say("hello")
    chat.expect("Acme Ltd，您好！")
    await chat.command("language")
    await chat.say("English")  # the label typed works like the button
    chat.expect("Done: from now on I'll answer you in English.")
    assert _language(service, chat) == i18n.ENGLISH


async def test_language_before_registering_is_kept_for_the_seller(
        guest: Chat, service: CaseService) -> None:
    await guest.command("language")
    await guest.press("简体中文")
    guest.expect("今后我会用简体中文回复您")
    await guest.command("help")
    guest.expect("仅通过邀请注册卖家")
    await guest.say(service.create_invitation("Hill Shop").code)
    guest.expect("您已以 Hill Shop 的身份注册成功")
    assert _language(service, guest) == i18n.CHINESE


async def test_two_messages_in_the_other_language_bring_one_offer(
        chat: Chat, service: CaseService) -> None:
    await chat.say("hello there")  # English, stored
    await chat.say("你好")  # one message could be a quote: no offer yet
    chat.expect_not("以后要用简体中文回复您吗？")
    await chat.say("谢谢你的帮助")
    chat.expect("您好像在用简体中文输入。以后要用简体中文回复您吗？")
    assert chat.buttons[-2:] == ["好的，用简体中文回复", "不用，继续用 English"]
    await chat.press("不用，继续用 English")
    chat.expect("Okay, I'll keep answering in English.")
    await chat.say("你好")
    await chat.say("谢谢你的帮助")
    chat.expect_not("以后要用")  # offered once
    assert _language(service, chat) == i18n.ENGLISH


async def test_accepting_the_offer_switches(chat: Chat, service: CaseService) -> None:
    await chat.say("hello there")
    await chat.say("你好")
    await chat.say("谢谢你的帮助")
    await chat.press("好的，用简体中文回复")
    chat.expect("好的：今后我会用简体中文回复您。")
    assert _language(service, chat) == i18n.CHINESE


def test_preferences_for_the_portal(chat: Chat, service: CaseService) -> None:
    ident, seller = service.identify(chat.channel, chat.user, chat.user, chat.name)
    assert seller is not None
    updated = service.set_preferences(seller.id, i18n.CHINESE, "Asia/Singapore")
    assert (updated.language, updated.time_zone) == (i18n.CHINESE, "Asia/Singapore")
    assert service.set_preferences(seller.id, time_zone="Europe/Paris").language == i18n.CHINESE
    with pytest.raises(InvalidInput):
        service.set_preferences(seller.id, "fr")
    with pytest.raises(InvalidInput):
        service.set_preferences(seller.id, time_zone="Mars/Olympus")


def test_dates_and_durations_in_the_sellers_locale_and_zone() -> None:
    moment = datetime(2026, 11, 30, 16, 45, tzinfo=UTC)
    assert i18n.when(moment) == "Nov 30 4:45\u202fPM UTC"
    assert i18n.day(moment) == "Nov 30, 2026"
    with i18n.speaking(i18n.speaker(i18n.CHINESE)):  # Beijing time by default
        assert i18n.when(moment) == "12月1日 00:45"
        assert i18n.when(moment, year=True) == "2026年12月1日 00:45"
        assert i18n.ago(timedelta(hours=3)) == "3小时前"
        assert i18n.duration(timedelta(days=2)) == "2天"
    with i18n.speaking(i18n.speaker(i18n.ENGLISH, "America/New_York")):
        assert i18n.when(moment) == "Nov 30 11:45\u202fAM"
    assert i18n.speaker("fr", "Nowhere/Else") == i18n.Speaker(i18n.ENGLISH, "UTC")
    assert i18n.day(datetime(2026, 11, 30, 23, 30)) == "Nov 30, 2026"  # naive: read as UTC


def test_plurals_and_agents_texts() -> None:
    assert "within 1 hour." in t("urgent.done", number="CX-1", hours=1)
    assert "within 4 hours." in t("urgent.done", number="CX-1", hours=4)
    with i18n.speaking(i18n.speaker(i18n.CHINESE)):
        assert t("urgent.done", number="CX-1", hours=1) == (
            "🚨 CX-1 已标记为紧急。我们会争取在 1 小时内回复。")
        # Agents read English whatever the seller speaks.
        assert t("thread.urgent_on", actor="seller") == "🚨 Flagged urgent by seller"


async def test_an_agents_reply_reaches_a_chinese_seller_in_their_frame(
        chat: Chat, service: CaseService, engine: Engine,
        uow_factory: SqlUnitOfWorkFactory) -> None:
    await chat.command("language")
    await chat.press("简体中文")
    await chat.say("my order 123-1234567-1234567 never arrived, the buyer keeps asking me")
    await chat.press("创建工单")
    chat.expect("已创建 CX-000001（物流 · 123-1234567-1234567）")
    service.agent_reply("CX-000001", "U1", "We found the parcel.", "Bo")
    service.change_status("CX-000001", "resolved", actor_ref="bo")
    texts = [r.text for r in chat.outbox()]
    assert "💬 CX-000001：We found the parcel." in texts
    assert "✅ CX-000001 已解决。如果还有问题，请在这里回复。" in texts
    assert "您对 CX-000001 的处理满意吗？" in texts


async def test_a_short_chinese_description_is_enough(chat: Chat) -> None:
    """Chinese says in ten characters what English says in thirty: "订单X的货款还没到账" is a
    description, not a prompt for more detail; two characters are not."""
    await chat.command("language")
    await chat.press("简体中文")
    await chat.say("订单240518K7QW93XZ的货款还没到账")
    await chat.press("回款与付款")  # the keyword double reads no Chinese: the type menu
    chat.expect("这解决您的问题了吗？")  # payments: the article first
    await chat.press("没有，我还需要帮助")
    chat.expect("确认创建吗？", "• 描述：订单240518K7QW93XZ的货款还没到账")
    await chat.press("取消")
    await chat.say("订单240518K7QW93XZ没到账")
    await chat.press("回款与付款")
    await chat.press("没有，我还需要帮助")
    chat.expect("请再多说一些（回款与付款）")


async def test_the_word_alone_asks_too_as_in_a_slack_dm(
        engine: Engine, uow_factory: SqlUnitOfWorkFactory, service: CaseService) -> None:
    dm = Chat(engine, uow_factory, user="U0SELLER9", channel="slack", name="Lin")
    chat_harness.register(service, dm)
    await dm.say("切换语言")
    dm.expect("请选择回复语言")
    await dm.press("简体中文")
    dm.expect("今后我会用简体中文回复您")
    await dm.say("Language")
    assert dm.buttons == ["English", "简体中文"]


async def test_the_scheduler_writes_to_a_chinese_seller_in_chinese(
        chat: Chat, service: CaseService, clock: ManualClock) -> None:
    await chat.command("language")
    await chat.press("简体中文")
    await chat.say("my order 123-1234567-1234567 never arrived, the buyer keeps asking me")
    await chat.press("创建工单")
    service.change_status("CX-000001", "pending", actor_ref="bo")
    sweeper = Sweeper(service, SqlSweepStore(), SchedulerConfig())
    clock.advance(days=1, hours=1)
    assert sweeper.remind_pending() == 1
    clock.advance(days=7)
    assert sweeper.auto_close() == 1
    texts = [r.text for r in chat.outbox()]
    assert any(t.startswith("⏰ CX-000001（物流 · 123-1234567-1234567）仍在等待您的回复")
               for t in texts), texts
    assert "📁 由于 8 天内没有收到您的回复，CX-000001 已关闭。您可以在 30 天内重新打开它。" in texts, \
        texts[-2:]


async def test_an_unknown_command_points_to_language_too(chat: Chat) -> None:
    await chat.command("sprache")
    chat.expect("I don't know /sprache.", "/language")
