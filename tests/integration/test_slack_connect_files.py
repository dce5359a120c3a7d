"""A file an agent shares from a Slack Connect channel arrives as a stub (``file_access:
"check_file_info"``: an id, no name and no ``url_private``), so the app asks ``files.info``
for it before the reply goes to the seller: the real bolt app, the agent desk and the inbox on
a real database, with Slack's Web API a local stand-in. A ``files.info`` failure that passes
leaves the event in the inbox for a retry, so the file is not lost; one that cannot pass (the
file gone, a missing scope, an answer that is not a file) relays the reply as it came, and the
thread is then told the file did not reach the seller."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import select

from adapters.slack.bolt_app import build_bolt_app
from adapters.slack.event_inbox import SOURCE, SlackEventInbox
from bot import outbox as ob
from bot.agent_desk import AgentDesk
from bot.cases import CaseService
from bot.clock import ManualClock
from storage.inbox_queue import SqlInbox
from storage.models import OutboxRow
from storage.uow import SqlUnitOfWorkFactory
from tests.integration import test_slack_inbox_order as inbox_order_tests
from tests.integration.test_agent_desk import case_in_thread
from tests.integration.test_slack_inbox_order import _no_sellers
from tests.standins import Fault
from tests.standins.slack_api import SlackStandIn

slack = inbox_order_tests.slack  # the Slack stand-in fixture
LEASE = timedelta(seconds=30)
PHOTO = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4


def stub(file_id: str) -> dict[str, Any]:
    """A file as Slack sends it from a Slack Connect channel."""
    return {"id": file_id, "mode": "file_access", "file_access": "check_file_info",
            "created": 0, "timestamp": 0, "user": ""}


def shared(event_id: str, files: list[dict[str, Any]]) -> str:
    event = {"type": "message", "subtype": "file_share", "channel": "C1",
             "channel_type": "channel", "user": "UPARTNER", "ts": "100.2",
             "thread_ts": "100.1", "text": "The label you asked for", "files": files}
    return json.dumps({"type": "event_callback", "event_id": event_id, "team_id": "T1",
                       "api_app_id": "A1", "event": event})


def file_items(uow_factory: SqlUnitOfWorkFactory) -> list[dict[str, Any]]:
    """The attachments of the outbox items carrying agents' files to the seller."""
    with uow_factory() as uow:
        payloads = uow.session.scalars(select(OutboxRow.payload).where(
            OutboxRow.kind == ob.SELLER_FILE).order_by(OutboxRow.id))
        return [dict(p["attachment"]) for p in payloads]


def inbox_of(service: CaseService, uow_factory: SqlUnitOfWorkFactory, slack: SlackStandIn,
             clock: ManualClock) -> tuple[SqlInbox, SlackEventInbox]:
    """A case with its thread, and a live process's Slack event inbox on the real bolt app."""
    case_in_thread(service, uow_factory)
    client = AsyncWebClient(token="xoxb-test", base_url=slack.base_url)
    bolt = build_bolt_app(client, None, AgentDesk(service, uow_factory), service,
                          _no_sellers, ["C1"])
    inbox = SqlInbox(uow_factory.database)
    return inbox, SlackEventInbox(bolt, inbox, clock, LEASE)


async def test_a_slack_connect_file_is_looked_up_and_reaches_the_seller_with_its_name(
        service: CaseService, uow_factory: SqlUnitOfWorkFactory, clock: ManualClock,
        slack: SlackStandIn) -> None:
    hosted = slack.host_file("label.png", PHOTO, "image/png")
    inbox, live = inbox_of(service, uow_factory, slack, clock)

    await live.accept("EvSHARE", shared("EvSHARE", [stub(hosted["id"])]))
    await live.stop()

    [attachment] = file_items(uow_factory)
    assert attachment["file_name"] == "label.png"
    assert attachment["mime_type"] == "image/png" and attachment["kind"] == "photo"
    assert attachment["url"] == hosted["url_private"]  # where the seller's copy comes from
    assert attachment["size"] == len(PHOTO)
    assert [r["file"] for r in slack.calls("files.info")] == [hosted["id"]]
    assert inbox.waiting(SOURCE) == 0


async def test_a_failed_lookup_keeps_the_event_and_its_retry_brings_the_file(
        service: CaseService, uow_factory: SqlUnitOfWorkFactory, clock: ManualClock,
        slack: SlackStandIn) -> None:
    hosted = slack.host_file("label.png", PHOTO, "image/png")
    inbox, live = inbox_of(service, uow_factory, slack, clock)
    slack.fail_next("files.info", Fault(500, {"ok": False, "error": "internal_error"}))

    await live.accept("EvSHARE", shared("EvSHARE", [stub(hosted["id"])]))
    await live.stop()
    assert file_items(uow_factory) == []  # nothing relayed without the file...
    assert inbox.waiting(SOURCE) == 1  # ...and the event is kept for a retry

    clock.advance(LEASE + timedelta(seconds=1))
    assert await live.recover_once() == 1
    await live.stop()
    assert [a["file_name"] for a in file_items(uow_factory)] == ["label.png"]
    assert inbox.waiting(SOURCE) == 0


@pytest.mark.parametrize("answer", [
    None,  # the stand-in's own: file_not_found
    Fault(200, {"ok": False, "error": "missing_scope", "needed": "files:read"}),
    Fault(200, {"ok": True, "file": {"id": 7, "name": ["label.png"]}}),  # not a file object
], ids=["gone", "missing-scope", "not-a-file"])
async def test_a_file_that_cannot_be_looked_up_for_good_is_relayed_as_it_came(
        service: CaseService, uow_factory: SqlUnitOfWorkFactory, clock: ManualClock,
        slack: SlackStandIn, answer: Fault | None) -> None:
    inbox, live = inbox_of(service, uow_factory, slack, clock)
    hosted = slack.host_file("label.png", PHOTO, "image/png") if answer else None
    if answer is not None:
        slack.fail_next("files.info", answer)
    file_id = hosted["id"] if hosted else "F0GONE"

    await live.accept("EvSHARE", shared("EvSHARE", [stub(file_id)]))
    await live.stop()

    # Not held for a retry that can never succeed: the reply and its words go on, and the file
    # has no URL, so the seller's channel tells the thread it did not reach the seller
    # (tests/integration/test_serve_agent_files.py), as for any file that cannot be fetched.
    [attachment] = file_items(uow_factory)
    assert attachment["file_id"] == file_id and attachment["url"] is None
    assert inbox.waiting(SOURCE) == 0
