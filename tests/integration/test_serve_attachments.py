"""Sellers' files reach the case's Slack thread as files, not only as a line of metadata.

Three levels, all on the real SDKs against the local stand-ins:

* the relay queues one THREAD_FILE item per copyable file, after the thread post;
* the Slack sender with the Telegram file source: ``getFile`` + download through
  python-telegram-bot, ``files_upload_v2`` through slack_sdk, and how failures are reported;
* `frontdoor serve` end to end: a photo or a document sent to the webhook ends up uploaded,
  same bytes, in the case's thread (helpers and server from ``test_serve_relay``).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import select
from telegram import Bot

from adapters.slack.sender import SlackSender
from adapters.telegram.files import TelegramFileSource, file_base_url
from bot import outbox as ob
from bot.cases import CaseRules, CaseService
from bot.clock import ManualClock
from bot.messages import Attachment
from bot.outbox import OutboundItem, ThreadRef
from bot.relay import Relay, RelayConfig
from storage.database import Database
from storage.models import OutboxRow
from storage.uow import SqlUnitOfWorkFactory
from tests.integration import test_serve_relay as relay_fixtures
from tests.integration import test_serve_relay as relay_tests
from tests.integration.test_serve_relay import (
    ORDER,
    SUPPORT,
    WAIT,
    OpenedCase,
    Served,
    TelegramSeller,
    posts_in_thread,
    wait_in_thread,
)
from tests.standins import Fault, slack_api, telegram_api
from tests.standins.slack_api import SlackStandIn
from tests.standins.telegram_api import TelegramStandIn

# The server, a registered seller and an open case, shared with the relay tests.
served = relay_fixtures.served

TOKEN = "123:TEST"
# Not real JPEG/PDF data, but bytes no text encoding would carry through unchanged.
PHOTO = b"\xff\xd8\xff\xe0JFIF\x00" + bytes(range(256)) * 40
PDF = b"%PDF-1.7\n" + bytes(range(255, -1, -1)) * 25


# The relay ---------------------------------------------------------------------------------
def _service(db: Database, file_sources: frozenset[str]) -> tuple[CaseService,
                                                                   SqlUnitOfWorkFactory]:
    uow_factory = SqlUnitOfWorkFactory(db, "CX")
    relay = Relay(RelayConfig(agents_destination="slack", channel_for=lambda _t: SUPPORT,
                              file_sources=file_sources))
    return CaseService(uow_factory, relay, CaseRules(), ManualClock()), uow_factory


def _agent_items(uow_factory: SqlUnitOfWorkFactory) -> list[OutboxRow]:
    with uow_factory() as uow:
        rows = list(uow.session.scalars(
            select(OutboxRow).where(OutboxRow.destination == "slack").order_by(OutboxRow.id)))
        uow.session.expunge_all()
        return rows


def _open_with(service: CaseService, attachments: list[dict[str, Any]]) -> None:
    invitation = service.create_invitation("Ada's Shop")
    identity, _ = service.identify("telegram", "424242")
    seller = service.register(identity.id, invitation.code)
    service.open_case(seller.id, "shipping", "the parcel arrived damaged", ORDER,
                      attachments, identity_id=identity.id)


def test_relay_queues_a_copy_per_telegram_file_after_the_post(db: Database) -> None:
    service, uow_factory = _service(db, frozenset({"telegram"}))
    photo = Attachment("photo", "AgAC1", None, "image/jpeg", 900, source="telegram").as_dict()
    slack_file = Attachment("file", "F0SLACK", "x.png", "image/png", 10,
                            url="https://files.slack.com/x.png").as_dict()
    legacy = {"kind": "document", "file_id": "BQAC2", "file_name": "label.pdf"}  # no source

    _open_with(service, [photo, slack_file, legacy])

    rows = _agent_items(uow_factory)
    assert [r.kind for r in rows] == [ob.CASE_PARENT, ob.THREAD_POST, ob.THREAD_FILE,
                                      ob.THREAD_FILE]
    post, first, second = rows[1], rows[2], rows[3]
    assert len(post.payload["attachments"]) == 3  # the post describes every file
    assert first.payload["source"] == "telegram" and first.payload["attachment"] == photo
    # A file recorded without its channel comes from the case's chat (Telegram here).
    assert second.payload["source"] == "telegram"
    assert second.payload["attachment"]["file_id"] == "BQAC2"
    assert first.payload["case_message_id"] == post.payload["case_message_id"]
    assert {r.ordering_key for r in rows} == {rows[0].ordering_key}  # one order per case


def test_relay_copies_nothing_without_a_file_source(db: Database) -> None:
    service, uow_factory = _service(db, frozenset())
    photo = Attachment("photo", "AgAC1", None, "image/jpeg", 900, source="telegram")

    _open_with(service, [photo.as_dict()])

    assert [r.kind for r in _agent_items(uow_factory)] == [ob.CASE_PARENT, ob.THREAD_POST]


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


# `frontdoor serve`, end to end ------------------------------------------------------------
seller = relay_tests.seller  # the relay tests' fixture, over this module's ``served``


@pytest.fixture
async def case(seller: TelegramSeller) -> OpenedCase:
    opened = await seller.open_case(
        f"my order {ORDER} never arrived, the buyer is waiting since Monday")
    await wait_in_thread(seller.served, opened.parent_ts, "never arrived")
    return opened


_message_ids = iter(range(20_000, 30_000))


async def send_media(seller: TelegramSeller, caption: str | None, **media: Any) -> None:
    """The seller sends a file (with a caption); wait until the bot confirms it was added."""
    served = seller.served
    mark = served.telegram.mark()
    update = telegram_api.message_update(user_id=seller.user_id, first_name=seller.name,
                                         message_id=next(_message_ids), caption=caption,
                                         **media)
    response = await served.telegram_update(update)
    assert response.status_code == 200, response.text
    await served.telegram.wait_for(
        "sendMessage", since=mark, timeout=WAIT,
        where=lambda r: r.get("chat_id") == seller.chat and "Added to" in r.get("text", ""))


def photo_sizes(file_id: str, size: int) -> list[dict[str, Any]]:
    return [{"file_id": f"{file_id}-small", "file_unique_id": "s", "width": 90, "height": 90,
             "file_size": 900},
            {"file_id": file_id, "file_unique_id": "l", "width": 1280, "height": 960,
             "file_size": size}]


async def wait_for_pending(served: Served, kind: str) -> None:
    """The stand-in answers before the dispatcher records the delivery: wait for the record."""
    pending = select(OutboxRow.id).where(OutboxRow.status == "pending", OutboxRow.kind == kind)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT
    while served.scalar(pending) is not None and loop.time() < deadline:
        await asyncio.sleep(0.05)
    assert served.scalar(pending) is None


async def test_photo_and_document_arrive_as_files_in_the_thread(
        served: Served, seller: TelegramSeller, case: OpenedCase) -> None:
    served.telegram.add_file("AgACparcel", PHOTO, "photos/file_21.jpg")
    served.telegram.add_file("BQACinvoice", PDF, "documents/file_22.pdf")
    mark = served.slack.mark()

    await send_media(seller, "Photo of the damaged parcel",
                     photo=photo_sizes("AgACparcel", len(PHOTO)))
    await send_media(seller, "and the invoice", document={
        "file_id": "BQACinvoice", "file_unique_id": "d", "file_name": "invoice.pdf",
        "mime_type": "application/pdf", "file_size": len(PDF)})

    await served.slack.wait_for("files.completeUploadExternal", count=2, since=mark,
                                timeout=WAIT)
    photo_file, pdf_file = served.slack.shared_files(SUPPORT, case.parent_ts)
    assert (photo_file["filename"], photo_file["content"]) == ("photo.jpg", PHOTO)
    assert (pdf_file["filename"], pdf_file["content"]) == ("invoice.pdf", PDF)
    # The metadata line stays, and each file follows its own message in the thread.
    text_line = await wait_in_thread(served, case.parent_ts, "damaged parcel", since=mark)
    assert "📎 photo" in text_line["text"] and "AgACparcel" in text_line["text"]
    doc_line = await wait_in_thread(served, case.parent_ts, "invoice.pdf", since=mark)
    thread = served.slack.thread(SUPPORT, case.parent_ts)
    order = [m["ts"] for m in thread]
    assert order.index(text_line.response["ts"]) < order.index(photo_file["ts"]) \
        < order.index(doc_line.response["ts"]) < order.index(pdf_file["ts"])
    assert [r["file_id"] for r in served.telegram.calls("getFile")] == [
        "AgACparcel", "BQACinvoice"]  # the largest photo size only
    await wait_for_pending(served, ob.THREAD_FILE)


async def test_file_telegram_will_not_hand_out_gets_a_note_and_is_not_retried(
        served: Served, seller: TelegramSeller, case: OpenedCase) -> None:
    # Telegram did not say the size in the update; getFile refuses it (over 20 MB).
    served.telegram.add_file("BQACvideo", b"", "documents/file_30.mp4", size=25 * 1024 * 1024)
    mark = served.slack.mark()

    await send_media(seller, "the unboxing video", document={
        "file_id": "BQACvideo", "file_unique_id": "v", "file_name": "unboxing.mp4",
        "mime_type": "video/mp4"})

    note = await wait_in_thread(served, case.parent_ts, "Could not copy", since=mark)
    assert "unboxing.mp4" in note["text"] and "file is too big" in note["text"].lower()
    await wait_in_thread(served, case.parent_ts, "unboxing video", since=mark)  # metadata
    await seller.say("One more detail after the video: the buyer is in Berlin.",
                     expect="Added to")
    await wait_in_thread(served, case.parent_ts, "after the video", since=mark)
    assert len(served.telegram.calls("getFile")) == 1  # refused once, never asked again
    assert served.slack.calls("files.getUploadURLExternal") == []
    await wait_for_pending(served, ob.THREAD_FILE)
    assert served.scalar(select(OutboxRow.status).where(
        OutboxRow.kind == ob.THREAD_FILE)) == "sent"


async def test_upload_500_is_retried_and_the_file_arrives_once(
        served: Served, seller: TelegramSeller, case: OpenedCase) -> None:
    served.telegram.add_file("AgAClabel", PHOTO, "photos/file_40.jpg")
    served.slack.fail_next("upload", slack_api.server_error(500))
    mark = served.slack.mark()

    await send_media(seller, "the shipping label", photo=photo_sizes("AgAClabel", len(PHOTO)))

    await served.slack.wait_for("files.completeUploadExternal", since=mark, timeout=WAIT)
    uploads = [r for r in served.slack.calls("upload") if r.index >= mark]
    assert [r.status for r in uploads] == [500, 200]
    [shared] = served.slack.shared_files(SUPPORT, case.parent_ts)
    assert shared["content"] == PHOTO
    # Only the copy was retried: the text line went out once. A marker proves nothing else
    # was queued behind it.
    await seller.say("One more detail after the label: the buyer is in Berlin.",
                     expect="Added to")
    await wait_in_thread(served, case.parent_ts, "after the label", since=mark)
    assert len([r for r in posts_in_thread(served, case.parent_ts, "shipping label")
                if r.status == 200]) == 1
    assert len(served.slack.calls("files.completeUploadExternal")) == 1
    await wait_for_pending(served, ob.THREAD_FILE)

