"""Telegram updates -> SellerMessage, and Reply -> sendMessage arguments (no network)."""

from __future__ import annotations

import copy

import pytest
from telegram import Bot, InlineKeyboardMarkup, Update

from adapters.telegram.translate import (
    MAX_CALLBACK_DATA_BYTES,
    CallbackDataTooLong,
    OutsidePrivateChat,
    callback_query_id,
    edit_message_kwargs,
    seller_message_from_update,
    send_message_kwargs,
    translate_update,
)
from bot.messages import Attachment, Button, Reply
from tests.standins.telegram_api import callback_update, message_update

# Never initialised, so never contacts anything: only binds the parsed objects to a bot.
OFFLINE_BOT = Bot("123:TEST", base_url="http://127.0.0.1:9/bot")


def test_text_message() -> None:
    update = message_update("my parcel is late", update_id=77, user_id=5, message_id=12)

    message = seller_message_from_update(update)

    assert message is not None
    assert message.channel == "telegram"
    assert (message.user_id, message.chat_id, message.address) == ("5", "5", "5")
    assert message.text == "my parcel is late"
    assert message.display_name == "Ada Seller"
    assert message.command is None and message.button is None
    assert message.platform_message_id == "12"
    assert message.event_id == "telegram:77"
    assert message.raw == update


def test_dict_is_not_mutated_and_ptb_update_gives_the_same_message() -> None:
    update = message_update("hello", update_id=78)
    pristine = copy.deepcopy(update)

    from_dict = seller_message_from_update(update)
    from_object = seller_message_from_update(Update.de_json(update, OFFLINE_BOT))

    assert update == pristine
    assert from_dict is not None and from_object is not None
    assert (from_dict.text, from_dict.event_id) == (from_object.text, from_object.event_id)
    assert from_object.raw["update_id"] == 78


@pytest.mark.parametrize(("text", "command", "args"), [
    ("/start INV-7K2Q", "start", "INV-7K2Q"),
    ("/start", "start", ""),
    ("/new", "new", ""),
    ("/cases", "cases", ""),
    ("/case CX-000123", "case", "CX-000123"),
    ("/case@frontdoor_test_bot  cx-77 ", "case", "cx-77"),
    ("/HELP", "help", ""),
])
def test_commands(text: str, command: str, args: str) -> None:
    message = seller_message_from_update(message_update(text))
    assert message is not None
    assert (message.command, message.command_args) == (command, args)
    assert message.text == text


@pytest.mark.parametrize("text", ["/ not a command", "no /case here", "//case"])
def test_texts_that_are_not_commands(text: str) -> None:
    message = seller_message_from_update(message_update(text))
    assert message is not None and message.command is None


def test_button_press() -> None:
    update = callback_update("dup:CX-000001:yes", user_id=5, message_id=3, update_id=90,
                             query_id="q-1")

    message = seller_message_from_update(update, OFFLINE_BOT)

    assert message is not None
    assert message.button == "dup:CX-000001:yes"
    assert (message.user_id, message.chat_id, message.platform_message_id) == ("5", "5", "3")
    assert message.event_id == "telegram:90"
    assert callback_query_id(message) == "q-1"


def test_callback_query_id_of_a_plain_message_is_none() -> None:
    message = seller_message_from_update(message_update("hi"))
    assert message is not None and callback_query_id(message) is None


def test_photo_takes_the_largest_size_and_the_caption() -> None:
    sizes = [
        {"file_id": "small", "file_unique_id": "s", "width": 90, "height": 90, "file_size": 1_000},
        {"file_id": "large", "file_unique_id": "l", "width": 1280, "height": 960,
         "file_size": 150_000},
    ]
    message = seller_message_from_update(message_update(caption="damaged box", photo=sizes))

    assert message is not None
    assert message.text == "damaged box"
    assert message.attachments == (
        Attachment("photo", "large", None, "image/jpeg", 150_000, source="telegram"),)


def test_document_voice_and_video_metadata() -> None:
    document = message_update(document={
        "file_id": "doc1", "file_unique_id": "d", "file_name": "invoice.pdf",
        "mime_type": "application/pdf", "file_size": 2_000_000})
    voice = message_update(voice={
        "file_id": "voice1", "file_unique_id": "v", "duration": 4, "mime_type": "audio/ogg",
        "file_size": 9_000})
    video = message_update(video={
        "file_id": "vid1", "file_unique_id": "w", "width": 640, "height": 480, "duration": 9,
        "file_name": "unboxing.mp4", "mime_type": "video/mp4", "file_size": 25_000_000})

    attachments = [seller_message_from_update(u).attachments  # type: ignore[union-attr]
                   for u in (document, voice, video)]

    assert attachments == [
        (Attachment("document", "doc1", "invoice.pdf", "application/pdf", 2_000_000,
                    source="telegram"),),
        (Attachment("voice", "voice1", None, "audio/ogg", 9_000, source="telegram"),),
        (Attachment("video", "vid1", "unboxing.mp4", "video/mp4", 25_000_000,
                    source="telegram"),),
    ]


def test_reply_to_a_relayed_message() -> None:
    message = seller_message_from_update(message_update("here it is", reply_to_message_id=41))
    assert message is not None and message.reply_to_message_id == "41"


def test_updates_the_engine_does_not_handle() -> None:
    edited = message_update("typo fixed")
    edited["edited_message"] = edited.pop("message")
    from_bot = message_update("echo")
    from_bot["message"]["from"]["is_bot"] = True

    assert seller_message_from_update(edited) is None
    assert seller_message_from_update(from_bot) is None
    assert seller_message_from_update({"update_id": 1}) is None


@pytest.mark.parametrize("chat_type", ["group", "supergroup", "channel"])
def test_a_message_or_press_outside_a_private_chat_is_no_seller_turn(chat_type: str) -> None:
    team = {"id": -100777, "type": chat_type, "title": "Shop team"}
    typed = message_update("/cases@frontdoor_test_bot", update_id=90, user_id=5,
                           chat_id=-100777)
    typed["message"]["chat"] = team
    pressed = callback_update("case:CX-000001", update_id=91, user_id=5, chat_id=-100777,
                              query_id="cq91")
    pressed["callback_query"]["message"]["chat"] = team

    assert seller_message_from_update(typed) is None
    assert seller_message_from_update(pressed) is None
    assert translate_update(typed) == OutsidePrivateChat("-100777", chat_type, "5",
                                                         "telegram:90")
    assert translate_update(pressed) == OutsidePrivateChat("-100777", chat_type, "5",
                                                           "telegram:91",
                                                           callback_query_id="cq91")


# Outbound -----------------------------------------------------------------------------------
def test_reply_without_buttons() -> None:
    assert send_message_kwargs(Reply("Hi!"), 5) == {"chat_id": 5, "text": "Hi!"}


def test_reply_buttons_become_an_inline_keyboard() -> None:
    reply = Reply("Was this helpful?", (Button("Yes", "kb:yes"), Button("No", "kb:no")))

    kwargs = send_message_kwargs(reply, "5")

    markup = kwargs["reply_markup"]
    assert isinstance(markup, InlineKeyboardMarkup)
    assert markup.to_dict() == {"inline_keyboard": [
        [{"text": "Yes", "callback_data": "kb:yes"}],
        [{"text": "No", "callback_data": "kb:no"}],
    ]}


def test_callback_data_limit_is_in_bytes() -> None:
    fits = "x" * MAX_CALLBACK_DATA_BYTES
    send_message_kwargs(Reply("ok", (Button("A", fits),)), 5)
    with pytest.raises(CallbackDataTooLong):
        send_message_kwargs(Reply("no", (Button("B", fits + "x"),)), 5)
    with pytest.raises(CallbackDataTooLong):  # 22 characters, 66 bytes
        send_message_kwargs(Reply("no", (Button("C", "€" * 22),)), 5)


def test_long_and_empty_texts_fit_telegram() -> None:
    assert len(send_message_kwargs(Reply("a" * 5000), 5)["text"]) == 4096
    assert send_message_kwargs(Reply("  "), 5)["text"] == "…"


def test_edit_arguments() -> None:
    assert edit_message_kwargs("5", "12", "new") == {"chat_id": "5", "message_id": 12,
                                                     "text": "new"}
