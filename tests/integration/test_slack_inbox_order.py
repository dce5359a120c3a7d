"""An agent's reply and its deletion keep their order across a crash: the real bolt app, the
agent desk and the inbox on a real database, with Slack's Web API a local stand-in.

The reply is recorded and acknowledged by a process that dies before processing it; the
agent then deletes it, and a live process receives the deletion. The deletion must wait for
the reply (the inbox keeps a conversation's order, bot.inbox): processed first, it would find
nothing to delete, and the recovered reply would reach the seller anyway."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import select

from adapters.slack.bolt_app import build_bolt_app
from adapters.slack.event_inbox import SOURCE, SlackEventInbox, conversation_of
from bot import outbox as ob
from bot.agent_desk import AgentDesk
from bot.cases import CaseService
from bot.clock import ManualClock
from bot.messages import SellerMessage
from storage.inbox_queue import SqlInbox
from storage.models import OutboxRow
from storage.uow import SqlUnitOfWorkFactory
from tests.integration.test_agent_desk import case_in_thread
from tests.standins.slack_api import SlackStandIn

AGENT = "UAGENT1"
LEASE = timedelta(seconds=30)
REPLY = {"type": "message", "channel": "C1", "channel_type": "channel", "user": AGENT,
         "ts": "100.2", "thread_ts": "100.1", "text": "Wrong case: a refund of 900 EUR"}
DELETION = {"type": "message", "subtype": "message_deleted", "channel": "C1",
            "channel_type": "channel", "hidden": True, "deleted_ts": "100.2", "ts": "100.9",
            "previous_message": {"type": "message", "user": AGENT, "ts": "100.2",
                                 "thread_ts": "100.1", "text": REPLY["text"]}}


def envelope(event: dict[str, Any], event_id: str) -> str:
    return json.dumps({"type": "event_callback", "event_id": event_id, "team_id": "T1",
                       "api_app_id": "A1", "event": event})


@pytest.fixture
async def slack() -> AsyncIterator[SlackStandIn]:
    async with SlackStandIn() as standin:
        yield standin


async def _no_sellers(msg: SellerMessage) -> None:
    raise AssertionError(f"no seller writes in this test: {msg}")


def reply_items(uow_factory: SqlUnitOfWorkFactory) -> list[str]:
    """The statuses of the outbox items carrying an agent's reply to the seller."""
    with uow_factory() as uow:
        return list(uow.session.scalars(select(OutboxRow.status).where(
            OutboxRow.kind == ob.SELLER_MESSAGE).order_by(OutboxRow.id)))


async def test_a_deletion_waits_for_the_reply_a_dead_process_left_behind(
        service: CaseService, uow_factory: SqlUnitOfWorkFactory, clock: ManualClock,
        slack: SlackStandIn) -> None:
    case_in_thread(service, uow_factory)
    client = AsyncWebClient(token="xoxb-test", base_url=slack.base_url)
    bolt = build_bolt_app(client, None, AgentDesk(service, uow_factory), service,
                          _no_sellers, ["C1"])
    inbox = SqlInbox(uow_factory.database)
    live = SlackEventInbox(bolt, inbox, clock, LEASE)

    # A process records the reply (Slack has its acknowledgement), then dies.
    reply_body = envelope(REPLY, "EvREPLY")
    assert inbox.record(SOURCE, "EvREPLY", reply_body, clock.now(), LEASE,
                        conversation_of(reply_body)) is not None
    # Seconds later the agent deletes it; this process receives the deletion.
    clock.advance(timedelta(seconds=5))
    await live.accept("EvDELETE", envelope(DELETION, "EvDELETE"))
    await live.stop()  # lets the deletion's task finish
    assert reply_items(uow_factory) == []  # the deletion stepped back: nothing processed
    assert inbox.waiting(SOURCE) == 2

    # The reply's lease runs out: recovery takes the oldest of the thread first, alone.
    clock.advance(LEASE)
    assert await live.recover_once() == 1
    await live.stop()
    assert reply_items(uow_factory) == ["pending"]
    # Then the deletion, which takes the reply back before it is sent.
    clock.advance(timedelta(seconds=1))
    assert await live.recover_once() == 1
    await live.stop()
    assert reply_items(uow_factory) == ["withdrawn"]  # the seller never gets it
    assert inbox.waiting(SOURCE) == 0


async def test_only_an_older_event_of_the_same_conversation_makes_one_wait(
        uow_factory: SqlUnitOfWorkFactory, clock: ManualClock) -> None:
    inbox = SqlInbox(uow_factory.database)
    stuck = envelope({**REPLY, "thread_ts": "555.1", "ts": "555.2"}, "EvOTHER")
    inbox.record(SOURCE, "EvOTHER", stuck, clock.now(), LEASE, conversation_of(stuck))
    later = envelope(REPLY, "EvREPLY")
    event = inbox.record(SOURCE, "EvREPLY", later, clock.now(), LEASE, conversation_of(later))
    assert event is not None and not inbox.waits_behind_older(event)
    dm = envelope({"type": "message", "channel": "D1", "channel_type": "im", "user": "U1",
                   "ts": "1.1", "text": "hi"}, "EvDM")
    first = inbox.record(SOURCE, "EvDM", dm, clock.now(), LEASE, conversation_of(dm))
    second_body = envelope({"type": "message", "channel": "D1", "channel_type": "im",
                            "user": "U1", "ts": "1.2", "text": "again"}, "EvDM2")
    second = inbox.record(SOURCE, "EvDM2", second_body, clock.now(), LEASE,
                          conversation_of(second_body))
    assert first is not None and second is not None
    assert not inbox.waits_behind_older(first) and inbox.waits_behind_older(second)
