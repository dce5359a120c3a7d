"""An invitation code from a Chinese seller: typed with a Chinese input method in full-width
mode ("ＺＤＲＷ－ＧＥＺＭ"), or inside a Chinese sentence ("邀请码：ZDRW-GEZM"), it registers
the seller as the plain code does; an order id in a Chinese sentence is still no code
(SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest

from bot.cases import CaseService
from tests.unit import chat_harness
from tests.unit.chat_harness import Chat

engine = chat_harness.engine
guest = chat_harness.guest


@pytest.mark.parametrize("typed", ["ZDRW-GEZM", "zdrw-gezm", "ＺＤＲＷ－ＧＥＺＭ",
                                   "邀请码：ZDRW-GEZM", "我的邀请码是 ＺＤＲＷ－ＧＥＺＭ"])
async def test_a_code_typed_after_i_have_a_code_registers_the_seller(
        guest: Chat, service: CaseService, typed: str) -> None:
    service.create_invitation("深圳小店", code="ZDRW-GEZM")
    await guest.say("你好，我想注册")
    await guest.press("我有邀请码")
    await guest.say(typed)
    guest.expect("您已以 深圳小店 的身份注册成功")


async def test_a_code_in_an_english_sentence_after_i_have_a_code_registers_the_seller(
        guest: Chat, service: CaseService) -> None:
    service.create_invitation("Acme Ltd", code="ACME-2026")
    await guest.say("hi")
    await guest.press("I have a code")
    await guest.say("my code is ACME-2026")
    guest.expect("You're registered as Acme Ltd")


@pytest.mark.parametrize("typed", ["ＺＤＲＷ－ＧＥＺＭ", "邀请码：ZDRW-GEZM"])
async def test_a_chinese_code_without_pressing_anything_registers_the_seller(
        guest: Chat, service: CaseService, typed: str) -> None:
    service.create_invitation("深圳小店", code="ZDRW-GEZM")
    await guest.say(typed)
    guest.expect("深圳小店", "✅")  # a bare code tells no language: the reply may be English


async def test_an_order_id_in_a_chinese_sentence_is_no_code(guest: Chat,
                                                           service: CaseService) -> None:
    await guest.say("你好，订单123-1234567-1234567一直没到")
    guest.expect("仅通过邀请注册卖家")
    guest.expect_not("这个邀请码无效")


async def test_the_rules_take_a_full_width_code(guest: Chat, service: CaseService) -> None:
    service.create_invitation("深圳小店", code="ZDRW-GEZM")
    identity, _seller = service.identify(guest.channel, guest.user, guest.user, guest.name)
    seller = service.register(identity.id, "ＺＤＲＷ－ＧＥＺＭ")
    assert seller.display_name == "深圳小店"
