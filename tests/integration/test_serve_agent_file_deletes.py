"""An agent deletes a reply that carried files, through `frontdoor serve` on the real
slack-bolt and python-telegram-bot against the stand-ins, on SQLite and PostgreSQL: the
seller's copy of the words and of each file is taken back. In a Slack DM the words are a
message (``chat.delete``) and each file one the bot shared (``files.delete``); on Telegram
each is a message (``deleteMessage``).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot import outbox as ob
from storage.database import Database
from tests.integration import serve_relay_support as relay_fixtures
from tests.integration.case_rules_support import outbox
from tests.integration.serve_relay_support import (
    AGENT,
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
from tests.integration.test_serve_agent_deletes import deletion
from tests.integration.test_serve_slack_dm_files import DmSeller
from tests.standins import slack_api

seller = relay_fixtures.seller
case = relay_fixtures.case

PHOTO = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 20
PDF = b"%PDF-1.7\n" + bytes(range(255, -1, -1)) * 30


@pytest.fixture
async def served(db: Database) -> AsyncIterator[Served]:
    async with serving(db, slack_file_hosts="127.0.0.1") as running:
        yield running


async def agent_shares(served: Served, parent_ts: str, text: str,
                       files: list[dict[str, Any]]) -> str:
    """An agent writes ``text`` with ``files`` in the case's thread (the message is in the
    stand-in's state, so its ✅ can land); its ts."""
    event = slack_api.thread_reply_event(SUPPORT, parent_ts, text, user=AGENT,
                                         ts=next_agent_ts())
    event.update(subtype="file_share", files=files)
    served.slack.messages.setdefault(SUPPORT, []).append(
        {"type": "message", "ts": event["ts"], "user": AGENT, "text": text,
         "thread_ts": parent_ts})
    assert (await served.slack_event(event)).status_code == 200
    return str(event["ts"])


async def files_delivered(served: Served, count: int) -> None:
    """Until ``count`` files reached the seller and their deliveries are recorded (only a
    recorded copy can be taken back; one still out is "on its way")."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT
    while [r.status for r in outbox(served.services.uow_factory, ob.SELLER_FILE)] != [
            "sent"] * count:
        assert loop.time() < deadline, "the files did not reach the seller"
        await asyncio.sleep(0.05)


def notes_saying(served: Served, fragment: str) -> list[str]:
    """The thread notes queued with ``fragment``, sent or not."""
    texts = [str(row.payload.get("text", "")) for row in
             outbox(served.services.uow_factory, ob.THREAD_POST)]
    return [text for text in texts if fragment in text]


async def one_note_after_every_take_back(served: Served, parent_ts: str, copies: int) -> None:
    """The agent is told once for the message, after the last of its copies was taken back
    (the note is queued with that record, so no other can follow)."""
    await wait_in_thread(served, parent_ts, "Deleted for the seller")
    assert [r.status for r in outbox(served.services.uow_factory, ob.SELLER_DELETE)] == [
        "sent"] * copies
    assert notes_saying(served, "Deleted for the seller") == ["🗑 Deleted for the seller too"]


async def test_a_reply_with_files_is_taken_out_of_the_slack_dm_text_and_files(
        served: Served) -> None:
    dm = DmSeller(served)
    parent_ts = await dm.opens_a_case()
    await served.slack.wait_for("chat.postMessage", timeout=WAIT,
                                where=lambda r: r.get("thread_ts") == parent_ts)
    label = served.slack.host_file("label.pdf", PDF, "application/pdf")
    photo = served.slack.host_file("box.png", PHOTO, "image/png")
    agent_ts = await agent_shares(served, parent_ts, "Your label and the box.", [label, photo])
    text = await served.slack.wait_for("chat.postMessage", timeout=WAIT, where=lambda r: (
        r.get("channel") == dm.dm and "label and the box" in r.get("text", "")))
    await files_delivered(served, 2)
    shared = [f["id"] for f in served.slack.files.values() if f.get("channel_id") == dm.dm]
    assert len(shared) == 2

    event = deletion(parent_ts, agent_ts, "Your label and the box.")
    assert (await served.slack_event(event)).status_code == 200

    await one_note_after_every_take_back(served, parent_ts, copies=3)
    [words] = served.slack.calls("chat.delete")
    assert (words["channel"], words["ts"]) == (dm.dm, text.response["ts"])
    assert sorted(r["file"] for r in served.slack.calls("files.delete")) == sorted(shared)
    assert served.slack.deleted_files == set(shared)
    assert [m for m in served.slack.messages.get(dm.dm, []) if m.get("files")] == []
    assert served.slack.find(dm.dm, text.response["ts"]) is None
    assert posts_in_thread(served, parent_ts, "Could not delete") == []


async def test_a_reply_with_a_photo_is_taken_out_of_the_telegram_chat_text_and_photo(
        served: Served, seller: TelegramSeller, case: OpenedCase) -> None:
    photo = served.slack.host_file("box.png", PHOTO, "image/png")
    agent_ts = await agent_shares(served, case.parent_ts, "The box as it arrived.", [photo])
    text = await served.telegram.wait_for("sendMessage", timeout=WAIT,
                                          where=lambda r: "as it arrived" in r.get("text", ""))
    sent_photo = await served.telegram.wait_for("sendPhoto", timeout=WAIT)
    await files_delivered(served, 1)

    event = deletion(case.parent_ts, agent_ts, "The box as it arrived.")
    assert (await served.slack_event(event)).status_code == 200

    await one_note_after_every_take_back(served, case.parent_ts, copies=2)
    taken_back = {int(r["message_id"]) for r in served.telegram.calls("deleteMessage")}
    assert taken_back == {text.response["result"]["message_id"],
                          sent_photo.response["result"]["message_id"]}
