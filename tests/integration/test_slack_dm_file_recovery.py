"""An agent's file to a seller's Slack DM, sent again after a crash or a lost answer, is found
in the DM instead of shared twice.

The real slack_sdk sender against the Slack stand-in. A file share carries no metadata, so an
item that may be there already (``recovering``, or a retry) is looked for in the DM's history:
the bot's share of a file with the same name and size, newer than the chat's earlier item's
message and not older than the item; found, it is reported delivered (its file id), and the
bytes are not even fetched. (The same for threads: test_slack_send_recovery.)
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from itertools import count

import pytest

from adapters.slack.file_download import SlackFileDownload
from adapters.slack.sender import SlackSender
from bot import outbox as ob
from bot.clock import ManualClock
from bot.delivery_outcomes import DeliveryOutcomes
from bot.dispatcher import OutboxDispatcher
from bot.messages import Attachment, Reply
from bot.outbox import OutboundItem
from bot.relay import Relay
from storage.database import Database
from storage.models import OutboxRow
from storage.outbox_queue import SqlOutboxQueue
from storage.uow import SqlUnitOfWorkFactory
from tests.standins import slack_api
from tests.standins.slack_api import SlackStandIn

DM = "D0SELLER01"
LABEL = b"%PDF-1.4 label\n" + bytes(range(256)) * 12
_ids = count(900)


@pytest.fixture
async def slack() -> AsyncIterator[SlackStandIn]:
    async with SlackStandIn() as standin:
        yield standin


@pytest.fixture
async def sender(slack: SlackStandIn) -> AsyncIterator[SlackSender]:
    async with SlackSender.create("xoxb-test", base_url=slack.base_url) as running:
        running.agent_files = SlackFileDownload("xoxb-test", ("127.0.0.1",))
        yield running


def agent_file(slack: SlackStandIn, name: str = "label.pdf",
               queued_at: datetime | None = None) -> OutboundItem:
    """An agent's file in the case thread, queued for the seller's DM."""
    hosted = slack.host_file(name, LABEL, "application/pdf")
    attachment = Attachment("document", hosted["id"], name, "application/pdf", len(LABEL),
                            url=hosted["url_private"])
    return OutboundItem(id=next(_ids), destination=ob.SLACK, kind=ob.SELLER_FILE,
                        payload={"address": DM, "attachment": attachment.as_dict(),
                                 "caption": f"📎 CX-000001: {name}",
                                 "case_number": "CX-000001", "case_message_id": 9},
                        case_id=1, case_number="CX-000001",
                        queued_at=queued_at or datetime.now(UTC))


def agent_words(text: str) -> OutboundItem:
    reply = Reply(f"💬 CX-000001: {text}", (), case_number="CX-000001")
    return OutboundItem(id=next(_ids), destination=ob.SLACK, kind=ob.SELLER_MESSAGE,
                        payload={"address": DM, "reply": reply.as_dict()}, case_id=1,
                        case_number="CX-000001")


def recovering(sent: OutboundItem) -> OutboundItem:
    """The same item handed over again after its earlier claim ran out unrecorded."""
    return replace(sent, recovering=True, attempts=sent.attempts + 1)


def shares_in_dm(slack: SlackStandIn) -> list[str]:
    return [f["id"] for f in slack.files.values() if f.get("channel_id") == DM]


async def test_a_fresh_file_is_shared_without_looking(slack: SlackStandIn,
                                                      sender: SlackSender) -> None:
    result = await sender.deliver(agent_file(slack))

    assert result.ok and shares_in_dm(slack) == [result.platform_message_id]
    assert slack.calls("conversations.history") == []


@pytest.mark.parametrize("again", [recovering, lambda sent: replace(sent, attempts=1)],
                         ids=["after a crash", "after a lost answer"])
async def test_a_file_shared_before_is_found_not_shared_again(
        again: Callable[[OutboundItem], OutboundItem], slack: SlackStandIn,
        sender: SlackSender) -> None:
    assert (await sender.deliver(agent_words("Your label."))).ok
    sent = agent_file(slack)
    first = await sender.deliver(sent)

    found = await sender.deliver(again(sent))

    assert found.ok and found.platform_message_id == first.platform_message_id
    assert found.extra == {"found_earlier_delivery": True}
    assert shares_in_dm(slack) == [first.platform_message_id]
    assert len(slack.calls("file_download")) == 1  # not fetched again either


async def test_a_file_that_never_landed_is_shared_once(slack: SlackStandIn,
                                                      sender: SlackSender) -> None:
    lost = agent_file(slack)

    result = await sender.deliver(recovering(lost))

    assert result.ok and shares_in_dm(slack) == [result.platform_message_id]
    assert len(slack.calls("conversations.history")) == 1


async def test_the_same_file_from_an_earlier_reply_is_not_taken_for_this_one(
        slack: SlackStandIn, sender: SlackSender) -> None:
    # Yesterday's label, then the agent's words, then the same label again (its share lost).
    assert (await sender.deliver(agent_file(slack))).ok
    assert (await sender.deliver(agent_words("Here it is again."))).ok
    again = agent_file(slack)

    result = await sender.deliver(recovering(again))

    assert result.ok and len(shares_in_dm(slack)) == 2
    assert result.platform_message_id == shares_in_dm(slack)[-1]


async def test_the_same_file_of_an_earlier_files_only_reply_is_not_taken_for_this_one(
        slack: SlackStandIn, sender: SlackSender) -> None:
    # A reply of files alone posts no words to stop at: the item's own age bounds the look.
    assert (await sender.deliver(agent_file(slack))).ok
    later = agent_file(slack, queued_at=datetime.now(UTC) + timedelta(minutes=5))

    result = await sender.deliver(recovering(later))

    assert result.ok and len(shares_in_dm(slack)) == 2
    [history] = slack.calls("conversations.history")
    assert float(history["oldest"]) > datetime.now(UTC).timestamp()


async def test_a_lookup_that_fails_for_a_while_retries_and_does_not_share(
        slack: SlackStandIn, sender: SlackSender) -> None:
    sent = agent_file(slack)
    first = await sender.deliver(sent)
    slack.fail_next("conversations.history", slack_api.rate_limited(7))

    failed = await sender.deliver(recovering(sent))

    assert not failed.ok and not failed.permanent and failed.retry_after == 7
    assert shares_in_dm(slack) == [first.platform_message_id]
    found = await sender.deliver(recovering(sent))
    assert found.ok and found.platform_message_id == first.platform_message_id


async def test_a_file_shared_by_a_process_that_died_is_recorded_by_the_next_dispatcher(
        db: Database, relay: Relay, slack: SlackStandIn, sender: SlackSender) -> None:
    clock = ManualClock(datetime.now(UTC))  # the queue's times and Slack's agree
    lease = timedelta(seconds=60)
    uow_factory = SqlUnitOfWorkFactory(db)
    queued = agent_file(slack)
    with uow_factory() as uow:
        uow.outbox.add(ob.SLACK, ob.SELLER_FILE, queued.payload, None, f"slack:chat:{DM}",
                       clock.now())
        uow.commit()
    queue = SqlOutboxQueue(db)
    # A process claims the file, shares it and dies before recording the share.
    [claimed] = queue.claim_due([ob.SLACK], clock.now(), 10, lease)
    assert claimed.queued_at == clock.now()
    first = await sender.deliver(claimed)
    clock.advance(lease + timedelta(seconds=1))

    dispatcher = OutboxDispatcher(queue, [sender], clock, DeliveryOutcomes(uow_factory, relay),
                                  lease=lease)
    assert await dispatcher.run_once() == 1

    assert shares_in_dm(slack) == [first.platform_message_id]
    with db.sessions() as session:
        row = session.get(OutboxRow, claimed.id)
        assert row is not None
        assert (row.status, row.platform_message_id) == ("sent", first.platform_message_id)
