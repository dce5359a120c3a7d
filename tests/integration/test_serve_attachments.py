"""Sellers' files reach the case's Slack thread as files, end to end through `frontdoor serve`:
a photo or a document sent to the webhook ends up uploaded, same bytes, in the case's thread
(helpers and server from ``serve_relay_support``). The relay's queueing and the Slack sender's
copying are tested on their own in ``test_relay_thread_files`` and
``test_slack_sender_telegram_files``.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import select

from bot import outbox as ob
from storage.models import OutboxRow
from tests.integration import serve_relay_support as relay_fixtures
from tests.integration import serve_relay_support as relay_tests
from tests.integration.attachment_support import PDF, PHOTO
from tests.integration.serve_relay_support import (
    ORDER,
    SUPPORT,
    WAIT,
    OpenedCase,
    Served,
    TelegramSeller,
    posts_in_thread,
    wait_in_thread,
)
from tests.standins import slack_api, telegram_api

# The server, a registered seller and an open case, shared with the relay tests.
served = relay_fixtures.served
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
