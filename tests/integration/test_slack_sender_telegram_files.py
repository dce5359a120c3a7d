"""The Slack sender copying a seller's Telegram file into the case's thread, on the real SDKs
against the local stand-ins: ``getFile`` + download through python-telegram-bot,
``files_upload_v2`` through slack_sdk, and how failures are reported or retried."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from telegram import Bot

from adapters.slack.sender import SlackSender
from adapters.telegram.files import TelegramFileSource, file_base_url
from bot import outbox as ob
from bot.messages import Attachment
from bot.outbox import OutboundItem, ThreadRef
from tests.integration.attachment_support import PHOTO
from tests.integration.serve_relay_support import SUPPORT
from tests.standins import Fault, slack_api, telegram_api
from tests.standins.slack_api import SlackStandIn
from tests.standins.telegram_api import TelegramStandIn

TOKEN = "123:TEST"


# The sender with the Telegram file source --------------------------------------------------
@pytest.fixture
async def telegram() -> AsyncIterator[TelegramStandIn]:
    async with TelegramStandIn() as standin:
        yield standin


@pytest.fixture
async def slack() -> AsyncIterator[SlackStandIn]:
    async with SlackStandIn() as standin:
        yield standin


@pytest.fixture
async def sender(telegram: TelegramStandIn,
                 slack: SlackStandIn) -> AsyncIterator[SlackSender]:
    bot = Bot(TOKEN, base_url=telegram.base_url, base_file_url=file_base_url(telegram.base_url))
    async with SlackSender.create("xoxb-test", base_url=slack.base_url,
                                  file_sources={"telegram": TelegramFileSource(bot)}) as sender:
        yield sender
    await bot.shutdown()


@pytest.fixture
async def thread(slack: SlackStandIn) -> ThreadRef:
    """A case parent in the stand-in's support channel (posted directly, not under test)."""
    return ThreadRef(SUPPORT, slack.seed_message(SUPPORT, "CX-000001"))


_ids = iter(range(1, 1_000_000))


def file_item(thread: ThreadRef | None, attachment: Attachment,
              source: str = "telegram") -> OutboundItem:
    return OutboundItem(id=next(_ids), destination=ob.SLACK, kind=ob.THREAD_FILE,
                        payload={"source": source, "attachment": attachment.as_dict()},
                        case_id=1, case_number="CX-000001", thread=thread)


def photo(file_id: str = "AgACphoto", size: int | None = len(PHOTO)) -> Attachment:
    return Attachment("photo", file_id, None, "image/jpeg", size, source="telegram")


def notes(slack: SlackStandIn, thread: ThreadRef) -> list[str]:
    return [m["text"] for m in slack.thread(thread.channel, thread.ts)
            if "Could not copy" in m["text"]]


async def test_sender_copies_a_telegram_photo_into_the_thread(
        telegram: TelegramStandIn, slack: SlackStandIn, sender: SlackSender,
        thread: ThreadRef) -> None:
    telegram.add_file("AgACphoto", PHOTO, "photos/file_12.jpg")

    result = await sender.deliver(file_item(thread, photo()))

    assert result.ok and result.platform_chat_id == SUPPORT
    [shared] = slack.shared_files(SUPPORT, thread.ts)
    assert shared["content"] == PHOTO and shared["filename"] == "photo.jpg"
    assert result.platform_message_id == shared["id"]
    get_file = telegram.calls("getFile")
    assert [r["file_id"] for r in get_file] == ["AgACphoto"]
    assert telegram.calls("download")[0].path == f"/file/bot{TOKEN}/photos/file_12.jpg"
    assert slack.calls("files.getUploadURLExternal")[0]["length"] == str(len(PHOTO))
    # The download URL carries the bot token: it must never reach Slack.
    assert all(TOKEN not in str(r.params) for r in slack.requests)


@pytest.mark.parametrize(("fault", "reason"), [
    (telegram_api.bad_request("Bad Request: file is too big"), "file is too big"),
    (telegram_api.bad_request("Bad Request: invalid file_id"), "invalid file_id"),
])
async def test_sender_notes_a_file_telegram_will_not_hand_out(
        telegram: TelegramStandIn, slack: SlackStandIn, sender: SlackSender,
        thread: ThreadRef, fault: Fault, reason: str) -> None:
    telegram.add_file("AgACphoto", PHOTO)
    telegram.fail_next("getFile", fault)

    result = await sender.deliver(file_item(thread, photo()))

    assert result.ok  # delivered as a note: retrying would not bring the file back
    [note] = notes(slack, thread)
    assert reason in note.lower() and "AgACphoto" in note
    assert slack.calls("files.getUploadURLExternal") == []


async def test_sender_notes_a_download_that_is_gone(
        telegram: TelegramStandIn, slack: SlackStandIn, sender: SlackSender,
        thread: ThreadRef) -> None:
    telegram.add_file("AgACphoto", PHOTO)
    telegram.fail_next("download", Fault(404, {"ok": False, "error_code": 404,
                                               "description": "Not Found"}))

    result = await sender.deliver(file_item(thread, photo()))

    assert result.ok
    [note] = notes(slack, thread)
    assert "download refused" in note
    assert slack.shared_files(SUPPORT, thread.ts) == []


async def test_sender_does_not_ask_for_a_file_known_to_be_too_big(
        telegram: TelegramStandIn, slack: SlackStandIn, sender: SlackSender,
        thread: ThreadRef) -> None:
    result = await sender.deliver(file_item(thread, photo(size=21 * 1024 * 1024)))

    assert result.ok
    assert "over the 20 MB download limit" in notes(slack, thread)[0]
    assert telegram.calls("getFile") == []


async def test_sender_notes_files_of_a_channel_it_cannot_fetch(
        slack: SlackStandIn, sender: SlackSender, thread: ThreadRef) -> None:
    result = await sender.deliver(file_item(thread, photo(), source="whatsapp"))
    assert result.ok
    assert "cannot fetch whatsapp files" in notes(slack, thread)[0]


@pytest.mark.parametrize(("method", "fault", "retry_after"), [
    ("getFile", telegram_api.server_error(502), None),
    ("getFile", telegram_api.flood_wait(3), 3.0),
    ("download", telegram_api.server_error(500), None),
])
async def test_sender_retries_when_telegram_fails_for_now(
        telegram: TelegramStandIn, slack: SlackStandIn, sender: SlackSender,
        thread: ThreadRef, method: str, fault: Fault, retry_after: float | None) -> None:
    telegram.add_file("AgACphoto", PHOTO)
    telegram.fail_next(method, fault)

    failed = await sender.deliver(file_item(thread, photo()))

    assert not failed.ok and not failed.permanent
    assert failed.retry_after == retry_after
    assert "fetching the file from telegram" in (failed.error or "")
    assert slack.requests == []  # no note: the file may still come
    again = await sender.deliver(file_item(thread, photo()))
    assert again.ok and slack.shared_files(SUPPORT, thread.ts)[0]["content"] == PHOTO


@pytest.mark.parametrize(("method", "fault"), [
    ("upload", slack_api.server_error(500)),
    ("files.getUploadURLExternal", slack_api.rate_limited(2)),
    ("files.completeUploadExternal", slack_api.api_error("internal_error")),
])
async def test_sender_retries_when_slack_fails_for_now(
        telegram: TelegramStandIn, slack: SlackStandIn, sender: SlackSender,
        thread: ThreadRef, method: str, fault: Fault) -> None:
    telegram.add_file("AgACphoto", PHOTO)
    slack.fail_next(method, fault)

    failed = await sender.deliver(file_item(thread, photo()))
    again = await sender.deliver(file_item(thread, photo()))

    assert not failed.ok and not failed.permanent
    assert again.ok
    [shared] = slack.shared_files(SUPPORT, thread.ts)
    assert shared["content"] == PHOTO
    assert notes(slack, thread) == []


async def test_sender_notes_an_upload_slack_refuses_for_good(
        telegram: TelegramStandIn, slack: SlackStandIn, sender: SlackSender,
        thread: ThreadRef) -> None:
    telegram.add_file("AgACphoto", PHOTO)
    slack.fail_next("files.completeUploadExternal", slack_api.api_error("file_uploads_disabled"))

    result = await sender.deliver(file_item(thread, photo()))

    assert result.ok
    assert "Slack refused the upload (file_uploads_disabled)" in notes(slack, thread)[0]


async def test_sender_waits_for_the_parent(slack: SlackStandIn, sender: SlackSender) -> None:
    result = await sender.deliver(file_item(None, photo()))
    assert not result.ok and not result.permanent and slack.requests == []
