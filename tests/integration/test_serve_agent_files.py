"""Files agents share in a case thread reach the seller (issue 12), through `frontdoor serve`
on the real slack-bolt and python-telegram-bot against the stand-ins, on SQLite and PostgreSQL.

The bot token goes only to SLACK_FILE_HOSTS (here the stand-in's host, 127.0.0.1); a file the
seller cannot get is noted in the case's thread; the seller's conversation view offers the
agent's files again.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from storage.database import Database
from tests.integration import serve_relay_support as relay_fixtures
from tests.integration.serve_relay_support import (
    SUPPORT,
    WAIT,
    OpenedCase,
    Served,
    TelegramSeller,
    next_agent_ts,
    posts_in_thread,
    serving,
    wait_in_thread,
)
from tests.standins import RecordedRequest, slack_api
from tests.standins.telegram_faults import bad_request

# The server, a registered seller and an open case, shared with the relay tests.
seller = relay_fixtures.seller
case = relay_fixtures.case

PHOTO = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 20
PDF = b"%PDF-1.7\n" + bytes(range(255, -1, -1)) * 30
LABEL = b"%PDF-1.4 label\n" + bytes(range(256)) * 3


@pytest.fixture
async def served(db: Database) -> AsyncIterator[Served]:
    async with serving(db, slack_file_hosts="127.0.0.1",
                       frontdoor_outbox_max_attempts=2) as running:
        yield running


async def share(served: Served, thread_ts: str, text: str, files: list[dict[str, Any]]) -> str:
    """An agent shares ``files`` (with ``text``, possibly empty) in the case's thread."""
    event = slack_api.thread_reply_event(SUPPORT, thread_ts, text, user="U0AGENT01",
                                         ts=next_agent_ts())
    event.update(subtype="file_share", files=files)
    response = await served.slack_event(event)
    assert response.status_code == 200, response.text
    return str(event["ts"])


def uploads(served: Served, chat: str) -> list[RecordedRequest]:
    """Successful sendPhoto and sendDocument calls to ``chat``, in order."""
    return sorted((r for m in ("sendPhoto", "sendDocument") for r in served.telegram.calls(m)
                   if r.status == 200 and r.get("chat_id") == chat), key=lambda r: r.index)


async def test_a_file_alone_reaches_the_seller_as_a_photo(
        served: Served, seller: TelegramSeller, case: OpenedCase) -> None:
    photo = served.slack.host_file("parcel.png", PHOTO, "image/png")

    await share(served, case.parent_ts, "", [photo])

    sent = await served.telegram.wait_for("sendPhoto", timeout=WAIT)
    assert sent["chat_id"] == seller.chat and sent.status == 200
    assert sent["photo"]["size"] == len(PHOTO)  # the bytes Slack served, all of them
    assert sent["caption"] == f"📎 {case.number}: parcel.png"
    download = served.slack.calls("file_download")[0]
    assert download.headers["Authorization"] == "Bearer xoxb-test"
    # Not refused as empty: no note, and the file is on the agent's case message.
    assert not [r for r in served.slack.calls("chat.postMessage") if "⚠️" in r.get("text", "")]
    messages = served.services.cases.get_case(case.number).messages
    assert [a["file_name"] for a in messages[-1].attachments] == ["parcel.png"]


async def test_a_file_with_text_follows_the_text(
        served: Served, seller: TelegramSeller, case: OpenedCase) -> None:
    pdf = served.slack.host_file("invoice.pdf", PDF, "application/pdf")

    await share(served, case.parent_ts, "Here is the carrier's invoice.", [pdf])

    document = await served.telegram.wait_for("sendDocument", timeout=WAIT)
    text = next(r for r in served.telegram.calls("sendMessage")
                if "carrier's invoice" in r.get("text", ""))
    assert text.index < document.index  # the reply's words first, then its file
    assert document["document"]["filename"] == "invoice.pdf"
    assert document["document"]["size"] == len(PDF)


async def test_two_files_are_two_uploads_in_order(
        served: Served, seller: TelegramSeller, case: OpenedCase) -> None:
    label = served.slack.host_file("label.pdf", LABEL, "application/pdf")
    photo = served.slack.host_file("box.png", PHOTO, "image/png")

    await share(served, case.parent_ts, "The return label and the photo.", [label, photo])

    await served.telegram.wait_for("sendPhoto", timeout=WAIT)
    sent = uploads(served, seller.chat)
    assert [r.method for r in sent] == ["sendDocument", "sendPhoto"]
    assert sent[0]["document"]["size"] == len(LABEL)


async def test_a_file_from_a_slack_connect_channel_reaches_the_seller(
        served: Served, seller: TelegramSeller, case: OpenedCase) -> None:
    photo = served.slack.host_file("damage.png", PHOTO, "image/png")
    # Shared from a partner's workspace, Slack sends only the file's id and how to look it up.
    connect_stub = {"id": photo["id"], "mode": "file_access", "file_access": "check_file_info",
                    "created": 0, "timestamp": 0, "user": ""}

    await share(served, case.parent_ts, "The damage, as the carrier photographed it.",
                [connect_stub])

    sent = await served.telegram.wait_for("sendPhoto", timeout=WAIT)
    assert sent["chat_id"] == seller.chat and sent.status == 200
    assert sent["photo"]["size"] == len(PHOTO)
    assert sent["caption"] == f"📎 {case.number}: damage.png"
    assert [r["file"] for r in served.slack.calls("files.info")] == [photo["id"]]


async def test_a_file_over_the_upload_limit_is_noted_in_the_thread(
        served: Served, seller: TelegramSeller, case: OpenedCase) -> None:
    huge = served.slack.host_file("scan.pdf", PDF, "application/pdf", size=60 * 1024 * 1024)

    await share(served, case.parent_ts, "", [huge])

    note = await wait_in_thread(served, case.parent_ts, "did not reach the seller")
    assert "scan.pdf" in note["text"] and "50 MB" in note["text"]
    assert served.slack.calls("file_download") == []  # not even fetched
    assert uploads(served, seller.chat) == []


async def test_a_file_on_a_foreign_host_gets_no_token(
        served: Served, seller: TelegramSeller, case: OpenedCase) -> None:
    hosted = served.slack.host_file("x.pdf", PDF, "application/pdf")
    # The same stand-in under another name: were the token sent, the stand-in would see it.
    foreign = {**hosted, "url_private": hosted["url_private"].replace("127.0.0.1",
                                                                      "localhost")}

    await share(served, case.parent_ts, "", [foreign])

    note = await wait_in_thread(served, case.parent_ts, "did not reach the seller")
    assert "localhost" in note["text"]
    assert served.slack.calls("file_download") == []
    assert uploads(served, seller.chat) == []


async def test_a_download_failure_is_retried_then_noted(
        served: Served, seller: TelegramSeller, case: OpenedCase) -> None:
    pdf = served.slack.host_file("manifest.pdf", PDF, "application/pdf")
    served.slack.fail_next("file_download", slack_api.server_error(503), times=2)

    await share(served, case.parent_ts, "", [pdf])

    note = await wait_in_thread(served, case.parent_ts, "did not reach the seller")
    assert "manifest.pdf" in note["text"] and "503" in note["text"]
    assert len(served.slack.calls("file_download")) == 2  # tried, retried (max 2), given up
    assert uploads(served, seller.chat) == []


async def test_a_download_that_fails_once_arrives_on_the_retry(
        served: Served, seller: TelegramSeller, case: OpenedCase) -> None:
    pdf = served.slack.host_file("manifest.pdf", PDF, "application/pdf")
    served.slack.fail_next("file_download", slack_api.server_error(500))

    await share(served, case.parent_ts, "", [pdf])

    sent = await served.telegram.wait_for("sendDocument", timeout=WAIT)
    assert sent["document"]["size"] == len(PDF)
    assert len(served.slack.calls("file_download")) == 2
    await asyncio.sleep(0.2)
    assert not [r for r in served.slack.calls("chat.postMessage")
                if "did not reach" in r.get("text", "")]


async def test_the_conversation_view_sends_the_files_again(
        served: Served, seller: TelegramSeller, case: OpenedCase) -> None:
    label = served.slack.host_file("label.pdf", LABEL, "application/pdf")
    await share(served, case.parent_ts, "Your return label.", [label])
    await served.telegram.wait_for("sendDocument", timeout=WAIT)

    await seller.say(f"/case {case.number}", expect="Your return label")
    assert "Send the files again" in [b["text"] for b in seller.buttons()]
    await seller.press("Send the files again", expect="Sending the files")

    again = await served.telegram.wait_for("sendDocument", count=2, timeout=WAIT)
    assert again["chat_id"] == seller.chat and again["document"]["size"] == len(LABEL)
    assert len(served.slack.calls("file_download")) == 2  # fetched afresh


def documents_in_chat(served: Served, chat: str) -> int:
    """Documents the seller sees in ``chat`` (what Telegram carried out, answered or not)."""
    return sum(1 for (to, _), message in served.telegram.messages.items()
               if to == chat and "document" in message)


async def test_a_big_file_telegram_answers_slowly_reaches_the_seller_once(
        served: Served, seller: TelegramSeller, case: OpenedCase) -> None:
    pdf = served.slack.host_file("catalogue.pdf", PDF, "application/pdf")
    # Past python-telegram-bot's default 5 s read timeout, well inside the upload's.
    served.telegram.answer_late("sendDocument", 6.0)

    await share(served, case.parent_ts, "", [pdf])
    # Delivery keeps the chat's order: a second copy of the file would come before this.
    await served.agent_writes(case.parent_ts, "That is the whole catalogue.")
    await served.telegram.wait_for("sendMessage", timeout=3 * WAIT,
                                   where=lambda r: "whole catalogue" in r.get("text", ""))

    assert documents_in_chat(served, seller.chat) == 1
    assert posts_in_thread(served, case.parent_ts, "did not reach the seller") == []


@pytest.mark.parametrize("refusal", ["PHOTO_INVALID_DIMENSIONS", "IMAGE_PROCESS_FAILED"])
async def test_a_picture_telegram_will_not_show_as_a_photo_goes_as_a_document(
        served: Served, seller: TelegramSeller, case: OpenedCase, refusal: str) -> None:
    # A long-scroll screenshot: over Telegram's photo proportions, a small PNG all the same.
    served.telegram.fail_next("sendPhoto", bad_request(f"Bad Request: {refusal}"))
    shot = served.slack.host_file("long-scroll.png", PHOTO, "image/png")

    await share(served, case.parent_ts, "", [shot])

    sent = await served.telegram.wait_for("sendDocument", timeout=WAIT)
    assert sent.status == 200 and sent["chat_id"] == seller.chat
    assert sent["document"]["size"] == len(PHOTO)
    assert sent["caption"] == f"📎 {case.number}: long-scroll.png"
    assert [r.status for r in served.telegram.calls("sendPhoto")] == [400]
    assert len(served.slack.calls("file_download")) == 1  # the same bytes, fetched once


async def test_a_photo_refused_for_another_reason_is_not_sent_as_a_document(
        served: Served, seller: TelegramSeller, case: OpenedCase) -> None:
    served.telegram.fail_next("sendPhoto", bad_request("Bad Request: chat not found"))
    photo = served.slack.host_file("parcel.png", PHOTO, "image/png")

    await share(served, case.parent_ts, "", [photo])

    note = await wait_in_thread(served, case.parent_ts, "did not reach the seller")
    assert "chat not found" in note["text"].lower()
    assert served.telegram.calls("sendDocument") == []
