"""An agent edits the words of a reply that also carried a file, through `frontdoor serve` on
the real slack-bolt and python-telegram-bot against the stand-ins, on SQLite and PostgreSQL:
the seller's copy of the words changes (Telegram ``editMessageText``, Slack DM
``chat.update``), never the copy of the file sent after them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from storage.database import Database
from tests.integration import serve_relay_support as relay_fixtures
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
)
from tests.integration.test_serve_slack_dm_files import DmSeller
from tests.standins import slack_api

seller = relay_fixtures.seller
case = relay_fixtures.case

PHOTO = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 20


@pytest.fixture
async def served(db: Database) -> AsyncIterator[Served]:
    async with serving(db, slack_file_hosts="127.0.0.1",
                       frontdoor_outbox_max_attempts=2) as running:
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


async def agent_edits(served: Served, parent_ts: str, agent_ts: str, old: str,
                      new: str) -> None:
    edited = {"type": "message", "subtype": "message_changed", "channel": SUPPORT,
              "channel_type": "channel", "hidden": True,
              "message": {"type": "message", "user": AGENT, "text": new, "ts": agent_ts,
                          "thread_ts": parent_ts},
              "previous_message": {"type": "message", "user": AGENT, "ts": agent_ts,
                                   "text": old}}
    assert (await served.slack_event(edited)).status_code == 200


async def test_editing_a_reply_with_a_photo_edits_the_telegram_text_not_the_photo(
        served: Served, seller: TelegramSeller, case: OpenedCase) -> None:
    photo = served.slack.host_file("label.png", PHOTO, "image/png")
    agent_ts = await agent_shares(served, case.parent_ts, "Your label, 12 EUR.", [photo])
    text = await served.telegram.wait_for("sendMessage", timeout=WAIT,
                                          where=lambda r: "12 EUR" in r.get("text", ""))
    await served.telegram.wait_for("sendPhoto", timeout=WAIT)

    await agent_edits(served, case.parent_ts, agent_ts, "Your label, 12 EUR.",
                      "Your label, 21 EUR.")

    edit = await served.telegram.wait_for("editMessageText", timeout=WAIT)
    assert edit["message_id"] == str(text.response["result"]["message_id"])
    assert edit["text"] == f"💬 {case.number}: Your label, 21 EUR."
    assert edit.status == 200


async def test_editing_a_reply_with_a_file_updates_the_slack_dm_text_not_the_file(
        served: Served) -> None:
    dm = DmSeller(served)
    parent_ts = await dm.opens_a_case()
    await served.slack.wait_for("chat.postMessage", timeout=WAIT,
                                where=lambda r: r.get("thread_ts") == parent_ts)
    photo = served.slack.host_file("label.png", PHOTO, "image/png")
    agent_ts = await agent_shares(served, parent_ts, "Your label, 12 EUR.", [photo])
    text = await served.slack.wait_for("chat.postMessage", timeout=WAIT, where=lambda r: (
        r.get("channel") == dm.dm and "12 EUR" in r.get("text", "")))
    await served.slack.wait_for("files.completeUploadExternal", timeout=WAIT,
                                where=lambda r: r.get("channel_id") == dm.dm)

    await agent_edits(served, parent_ts, agent_ts, "Your label, 12 EUR.", "Your label, 21 EUR.")

    update = await served.slack.wait_for("chat.update", timeout=WAIT,
                                         where=lambda r: r.get("channel") == dm.dm)
    assert update["ts"] == text.response["ts"] and update.status == 200
    changed = served.slack.find(dm.dm, text.response["ts"])
    assert changed is not None and changed["text"].endswith("21 EUR.")
    # The marker's ✅ follows, in the thread's order, any note the edit would have left there.
    marker_ts = await served.agent_writes(parent_ts, "Marker after the edit")
    await served.slack.wait_for("reactions.add", timeout=WAIT,
                                where=lambda r: r.get("timestamp") == marker_ts)
    assert posts_in_thread(served, parent_ts, "Not delivered") == []
