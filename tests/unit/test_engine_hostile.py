"""Hostile input: huge messages, control characters, emoji, RTL and CJK text, SQL-looking
strings, another seller's case number. Nothing crashes, nothing is lost, nothing leaks."""

from __future__ import annotations

import pytest

from bot.cases import CaseService
from bot.dialogue.cleaning import clean_text
from bot.engine import Engine
from storage.uow import SqlUnitOfWorkFactory
from tests.unit import chat_harness
from tests.unit.chat_harness import Chat, register

# Fixtures shared by the conversation tests.
chat = chat_harness.chat
engine = chat_harness.engine
guest = chat_harness.guest

ORDER = "123-1234567-1234567"


async def test_100_kb_message_is_refused_and_the_draft_kept(chat: Chat, service: CaseService) -> None:
    await chat.say(f"my order {ORDER} never arrived, the buyer is waiting since Monday")
    await chat.say("x" * 100_000)
    chat.expect("too long", "100000 characters", "limit is 4000", "Nothing you said before is lost")
    await chat.press("Open the case")  # the draft (and its buttons) survived
    chat.expect("Opened CX-000001")
    assert "never arrived" in service.get_case("CX-000001").messages[0].text


async def test_100_kb_first_message(chat: Chat, service: CaseService) -> None:
    await chat.say("my parcel never arrived " * 5000)
    chat.expect("too long")
    assert service.search_cases() == []


async def test_100_kb_follow_up(chat: Chat, service: CaseService) -> None:
    await chat.say(f"my order {ORDER} never arrived, the buyer is waiting since Monday")
    await chat.press("Open the case")
    await chat.say("é" * 100_000)
    chat.expect("too long")
    assert len(service.get_case("CX-000001").messages) == 1


async def test_description_growing_past_the_limit_asks_for_a_summary(chat: Chat,
                                                                     service: CaseService) -> None:
    await chat.say(f"my order {ORDER} never arrived, the buyer is waiting since Monday")
    for _ in range(2):
        await chat.say("More detail: " + "the tracking shows nothing new. " * 110)
    await chat.press("Open the case")
    chat.expect("All together your description is", "shorter summary")
    await chat.say("Parcel lost in transit; buyer waiting since Monday; tracking frozen.")
    chat.expect("I'll open this case", "Parcel lost in transit")
    await chat.press("Open the case")
    chat.expect("Opened CX-000001")


@pytest.mark.parametrize("text", [
    "my order\x00 123-1234567-1234567 never\x07 arrived\x1b[31m, the buyer is waiting",
    "my order 123-1234567-1234567 never arrived 📦😡🚚, the buyer is waiting 👨‍👩‍👧",
    "طلبي 123-1234567-1234567 never arrived لم يصل الطلب إلى المشتري",
    "我的订单 123-1234567-1234567 never arrived，买家一直在等待，已经一个星期了",
    "my order 123-1234567-1234567 never arrived'; DROP TABLE cases; -- \" OR 1=1",
])
async def test_strange_text_opens_a_case_intact(chat: Chat, service: CaseService, text: str) -> None:
    # A seller who chose English: whatever the script they write in, replies stay English.
    seller = service.identify(chat.channel, chat.user)[1]
    assert seller is not None
    service.set_preferences(seller.id, "en")
    await chat.say(text)
    chat.expect("I'll open this case")
    await chat.press("Open the case")
    chat.expect("Opened CX-000001")
    stored = service.get_case("CX-000001").messages[0].text
    assert stored == clean_text(text)
    assert "\x00" not in stored and "\x1b" not in stored
    await chat.say("any update?")
    chat.expect("CX-000001")  # the tables are all still there


@pytest.mark.parametrize("text", [
    "\x00\x01\x02", "   ", "\u200f\u200e", "🙂", "١٢٣", "' OR '1'='1", "CX-000001'; --",
    "/etc/passwd", "<script>alert(1)</script>", "{text} {number} %s",
])
async def test_odd_messages_get_an_answer(chat: Chat, text: str) -> None:
    replies = await chat.say(text)
    assert replies, f"no answer to {text!r}"


async def test_format_placeholders_in_text_are_not_interpreted(chat: Chat, service: CaseService) -> None:
    await chat.say(f"my order {ORDER} never arrived {{number}} {{0}} %s %(x)s, buyer waiting")
    chat.expect("{number} {0} %s %(x)s")


async def test_control_characters_in_display_name(service: CaseService, engine: Engine,
                                                  uow_factory: SqlUnitOfWorkFactory) -> None:
    weird = Chat(engine, uow_factory, user="777", name="Bad\x00Name\u202e")
    await weird.say("hello")
    weird.expect("invitation only")


async def test_case_number_of_another_seller_everywhere(chat: Chat, service: CaseService,
                                                        uow_factory: SqlUnitOfWorkFactory) -> None:
    other = Chat(chat.engine, uow_factory, user="200", name="Bob")
    register(service, other, "Bob's Shop")
    await other.say(f"my order {ORDER} never arrived, the buyer is waiting since Monday")
    await other.press("Open the case")
    service.change_status("CX-000001", "resolved")
    for payload in ("case:CX-000001", "reopen:CX-000001", "keep:CX-000001", "human:CX-000001",
                    "eval:CX-000001:like", "pick:CX-000001"):
        await chat.send(button=payload, text="?")
        assert "Bob" not in chat.text and "never arrived" not in chat.text
    await chat.send(button="eval:CX-000001:like", text="?")
    chat.expect("I can't find CX-000001 among your cases")
    detail = service.get_case("CX-000001")
    assert detail.evaluation is None and not detail.case.needs_human
    assert detail.case.status == "resolved"


async def test_oversized_button_payload_and_unknown_payloads(chat: Chat) -> None:
    await chat.send(button="x" * 5000, text="?")
    chat.expect("no longer available")
    await chat.send(button="case:", text="?")
    assert chat.replies


async def test_file_over_the_download_limit_is_refused_the_text_kept(
        chat: Chat, service: CaseService) -> None:
    from bot.messages import Attachment

    big = Attachment(kind="video", file_id="v1", file_name="unboxing.mp4", size=35_000_000)
    small = Attachment(kind="photo", file_id="p1", size=80_000)
    await chat.send(text=f"my order {ORDER} never arrived, the buyer is waiting since Monday",
                    attachments=(big, small))
    chat.expect('I can\'t take "unboxing.mp4" (35.0 MB)', "at most 20 MB")
    await chat.press("Open the case")
    chat.expect("Opened CX-000001")
    [first] = service.get_case("CX-000001").messages
    assert "never arrived" in first.text
    assert [a["file_id"] for a in first.attachments] == ["p1"]


async def test_only_an_oversized_file(chat: Chat, service: CaseService) -> None:
    from bot.messages import Attachment

    await chat.send(attachments=(Attachment(kind="document", file_id="d1", size=21_000_000),))
    chat.expect("files can be at most 20 MB")
    assert service.search_cases() == []
