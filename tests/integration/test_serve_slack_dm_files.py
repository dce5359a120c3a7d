"""A seller's file sent in a Slack DM reaches the case's thread as a file agents can open
(issue 12): `frontdoor serve` on the real slack-bolt against the Slack stand-in, on SQLite and
PostgreSQL. The DM's file is private to the DM, so it is fetched (``files.info``, then its
``url_private`` with the bot token, only on SLACK_FILE_HOSTS) and uploaded into the thread.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from itertools import count
from typing import Any
from urllib.parse import urlencode

import pytest

from storage.database import Database
from tests.integration.serve_relay_support import ORDER, SUPPORT, WAIT, Served, serving, wait_in_thread
from tests.standins import slack_api

PHOTO = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 40
PDF = b"%PDF-1.7\n" + bytes(range(255, -1, -1)) * 25
_ts = count(1)


@pytest.fixture
async def served(db: Database) -> AsyncIterator[Served]:
    async with serving(db, slack_file_hosts="127.0.0.1",
                       frontdoor_outbox_max_attempts=2) as running:
        yield running


@dataclass
class DmSeller:
    """A seller writing to the app in a Slack DM, through the events endpoint."""

    served: Served
    dm: str = "D0SELLER7"
    user: str = "U0SELLER7"

    def event(self, text: str, files: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        event: dict[str, Any] = {"type": "message", "channel": self.dm, "channel_type": "im",
                                 "user": self.user, "text": text,
                                 "ts": f"1800000100.{next(_ts):06d}"}
        if files:
            event.update(subtype="file_share", files=files)
        return event

    async def say(self, text: str, files: list[dict[str, Any]] | None = None) -> int:
        mark = self.served.slack.mark()
        response = await self.served.slack_event(self.event(text, files))
        assert response.status_code == 200, response.text
        return mark

    async def opens_a_case(self) -> str:
        """Register, describe the issue, press "Open the case": the parent's ts."""
        code = self.served.services.cases.create_invitation("DM Seller").code
        mark = await self.say(code)
        await self.served.slack.wait_for("chat.postMessage", since=mark, timeout=WAIT,
                                         where=lambda r: r.get("channel") == self.dm)
        mark = await self.say(f"my order {ORDER} never arrived, the buyer is waiting since "
                              "Monday")
        offer = await self.served.slack.wait_for(
            "chat.postMessage", since=mark, timeout=WAIT,
            where=lambda r: r.get("channel") == self.dm and "Open it?" in r.get("text", ""))
        blocks = offer.response["message"]["blocks"]
        buttons = [e for b in blocks if b["type"] == "actions" for e in b["elements"]]
        open_button = next(b for b in buttons if "Open the case" in b["text"]["text"])
        form = urlencode({"payload": json.dumps({
            "type": "block_actions", "team": {"id": slack_api.TEAM_ID},
            "api_app_id": "A0STANDIN", "user": {"id": self.user, "team_id": slack_api.TEAM_ID},
            "trigger_id": "9.9.9", "channel": {"id": self.dm},
            "container": {"type": "message", "channel_id": self.dm},
            "actions": [{"type": "button", "action_id": "seller_button", "block_id": "b1",
                         "value": open_button["value"], "action_ts": "1800000100.5"}]})})
        pressed = await self.served.slack_post(form, "application/x-www-form-urlencoded")
        assert pressed.status_code == 200, pressed.text
        parent = await self.served.slack.wait_for(
            "chat.postMessage", timeout=WAIT,
            where=lambda r: r.get("channel") == SUPPORT and not r.get("thread_ts")
            and r.status == 200)
        return str(parent.response["ts"])


@pytest.fixture
async def parent_ts(served: Served) -> str:
    return await DmSeller(served).opens_a_case()


async def uploaded_into(served: Served, parent_ts: str, n: int = 1) -> list[dict[str, Any]]:
    await served.slack.wait_for(
        "files.completeUploadExternal", count=n, timeout=WAIT,
        where=lambda r: r.status == 200 and r.get("thread_ts") == parent_ts)
    return served.slack.shared_files(SUPPORT, parent_ts)


async def test_a_photo_sent_in_the_dm_is_uploaded_into_the_case_thread(
        served: Served, parent_ts: str) -> None:
    photo = served.slack.host_file("parcel.png", PHOTO, "image/png")

    await DmSeller(served).say("here is the photo of the parcel", [photo])

    shared = await uploaded_into(served, parent_ts)
    assert len(shared) == 1
    assert shared[0]["content"] == PHOTO  # the bytes the seller shared, all of them
    assert shared[0]["filename"] == "parcel.png"
    info = served.slack.calls("files.info")[0]
    assert info.get("file") == photo["id"]
    download = served.slack.calls("file_download")[0]
    assert download.headers["Authorization"].startswith("Bearer xoxb-")
    # The words and the file's details come first, in the same thread, without the DM's
    # private link (it opens for nobody outside the DM): agents open the copied file.
    post = await wait_in_thread(served, parent_ts, "photo of the parcel")
    assert "parcel.png" in post["text"]
    assert photo["url_private"] not in post["text"] and "http" not in post["text"]
    assert not [r for r in served.slack.calls("chat.postMessage") if "⚠️" in r.get("text", "")]


async def test_two_files_are_two_uploads_in_the_thread(
        served: Served, parent_ts: str) -> None:
    pdf = served.slack.host_file("invoice.pdf", PDF, "application/pdf")
    photo = served.slack.host_file("box.png", PHOTO, "image/png")

    await DmSeller(served).say("the invoice and the box", [pdf, photo])

    shared = await uploaded_into(served, parent_ts, 2)
    assert sorted((f["filename"], len(f["content"])) for f in shared) == sorted(
        [("invoice.pdf", len(PDF)), ("box.png", len(PHOTO))])


async def test_a_file_slack_no_longer_has_gets_a_note_in_the_thread(
        served: Served, parent_ts: str) -> None:
    photo = served.slack.host_file("gone.png", PHOTO, "image/png")
    del served.slack.hosted_files[photo["id"]]  # deleted by the seller before the copy

    await DmSeller(served).say("the parcel photo", [photo])

    note = await wait_in_thread(served, parent_ts, "Could not copy")
    assert "gone.png" in note["text"] and "file_not_found" in note["text"]
    assert served.slack.calls("file_download") == []
    assert served.slack.shared_files(SUPPORT, parent_ts) == []


async def test_a_file_on_a_host_not_listed_gets_no_token(
        served: Served, parent_ts: str) -> None:
    photo = served.slack.host_file("x.png", PHOTO, "image/png")
    # files.info names another host (the same stand-in under another name): were the token
    # sent, the stand-in would see it.
    hosted = served.slack.hosted_files[photo["id"]]["file"]
    hosted["url_private"] = hosted["url_private"].replace("127.0.0.1", "localhost")

    await DmSeller(served).say("the parcel photo", [photo])

    note = await wait_in_thread(served, parent_ts, "Could not copy")
    assert "localhost" in note["text"]
    assert served.slack.calls("file_download") == []
