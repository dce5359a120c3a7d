"""Taking a copy back from a seller's Slack DM (SELLER_DELETE): the real slack_sdk sender
against the Slack stand-in. The reply's words are a message of the bot (``chat.delete``), each
file one it shared (``files.delete``); "gone already" counts as done only for what was asked
about, so a file is never reported deleted because no message had its id.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from itertools import count

import pytest

from adapters.slack.sender import SlackSender
from bot import outbox as ob
from bot.outbox import OutboundItem
from tests.standins.slack_api import SlackStandIn

DM = "D0SELLER01"
_ids = count(700)


@pytest.fixture
async def slack() -> AsyncIterator[SlackStandIn]:
    async with SlackStandIn() as standin:
        yield standin


@pytest.fixture
async def sender(slack: SlackStandIn) -> AsyncIterator[SlackSender]:
    async with SlackSender.create("xoxb-test", base_url=slack.base_url) as running:
        yield running


def taking_back(copy_id: str, file: bool | None) -> OutboundItem:
    payload: dict[str, object] = {"address": DM, "platform_message_id": copy_id,
                                  "case_message_id": 9}
    if file is not None:
        payload["file"] = file
    return OutboundItem(id=next(_ids), destination=ob.SLACK, kind=ob.SELLER_DELETE,
                        payload=payload, case_id=1, case_number="CX-000001", thread=None)


async def shared_file(slack: SlackStandIn, sender: SlackSender) -> str:
    """A file the bot shared into the DM (what an agent's file to the seller becomes)."""
    response = await sender.client.files_upload_v2(channel=DM, content=b"%PDF label",
                                                   filename="label.pdf", title="label.pdf")
    return str(response["file"]["id"])


async def test_a_file_copy_is_deleted_with_files_delete(slack: SlackStandIn,
                                                        sender: SlackSender) -> None:
    file_id = await shared_file(slack, sender)

    result = await sender.deliver(taking_back(file_id, file=True))

    assert result.ok and result.platform_message_id == file_id
    assert slack.calls("chat.delete") == []
    assert file_id in slack.deleted_files
    assert [m for m in slack.messages.get(DM, []) if m.get("files")] == []


async def test_a_deletion_queued_without_the_file_mark_deletes_the_file_not_a_message(
        slack: SlackStandIn, sender: SlackSender) -> None:
    file_id = await shared_file(slack, sender)

    result = await sender.deliver(taking_back(file_id, file=None))

    assert result.ok
    assert slack.calls("chat.delete") == []  # message_not_found there is no "gone already"
    assert file_id in slack.deleted_files


async def test_a_file_gone_already_is_done_and_one_refused_is_a_failure(
        slack: SlackStandIn, sender: SlackSender) -> None:
    file_id = await shared_file(slack, sender)
    assert (await sender.deliver(taking_back(file_id, file=True))).ok

    again = await sender.deliver(taking_back(file_id, file=True))  # a retry, answer lost
    users_file = slack.host_file("theirs.png", b"\x89PNG", "image/png")["id"]
    refused = await sender.deliver(taking_back(users_file, file=True))

    assert again.ok
    assert (refused.ok, refused.permanent) == (False, True)
    assert "cant_delete_file" in (refused.error or "")


async def test_a_message_gone_already_is_done(slack: SlackStandIn,
                                              sender: SlackSender) -> None:
    ts = slack.seed_message(DM, "💬 CX-000001: Your label, 12 EUR.")
    assert (await sender.deliver(taking_back(ts, file=False))).ok
    assert slack.find(DM, ts) is None

    again = await sender.deliver(taking_back(ts, file=False))

    assert again.ok and len(slack.calls("chat.delete")) == 2
    assert slack.calls("files.delete") == []
