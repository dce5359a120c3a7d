"""Items that move a file's bytes get the time of their transfer: over a real database, the
dispatcher claims SELLER_FILE and THREAD_FILE items for ``file_lease`` (others for ``lease``)
and cuts each send at 0.8 of its own item's lease. Scaled down here: a lease of 2.5 s cuts an
ordinary send at 2 s; a seller's DM file through the real slack_sdk sender against a Slack
stand-in answering each call in 0.6 s takes four calls (download, upload URL, bytes, share).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack import file_download
from adapters.slack.file_download import SlackFileDownload
from adapters.slack.sender import SlackSender
from adapters.telegram import files as telegram_files
from adapters.telegram import files_out as telegram_files_out
from bot import dispatcher as outbox_dispatcher
from bot import outbox as ob
from bot.clock import ManualClock
from bot.delivery_outcomes import DeliveryOutcomes
from bot.dispatcher import OutboxDispatcher
from bot.messages import Attachment
from bot.relay import Relay
from storage.database import Database
from storage.models import OutboxRow
from storage.outbox_queue import SqlOutboxQueue
from storage.uow import SqlUnitOfWorkFactory
from tests.standins.slack_api import SlackStandIn

DM = "D0SELLER01"
PHOTO = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 20
LEASE = timedelta(seconds=2.5)
FILE_LEASE = timedelta(seconds=10)


@pytest.fixture
async def slow_slack() -> AsyncIterator[SlackStandIn]:
    async with SlackStandIn(latency=0.6) as standin:
        yield standin


def queue_file_for_dm(uow_factory: SqlUnitOfWorkFactory, slack: SlackStandIn,
                      clock: ManualClock) -> int:
    """An agent's file queued for a seller who DMs the app."""
    hosted = slack.host_file("label.png", PHOTO, "image/png")
    attachment = Attachment("photo", hosted["id"], "label.png", "image/png", len(PHOTO),
                            url=hosted["url_private"])
    with uow_factory() as uow:
        item_id = uow.outbox.add(ob.SLACK, ob.SELLER_FILE,
                                 {"address": DM, "attachment": attachment.as_dict(),
                                  "caption": "📎 CX-000001: label.png",
                                  "case_number": "CX-000001", "case_message_id": None},
                                 None, f"slack:chat:{DM}", clock.now())
        uow.commit()
    return item_id


async def test_a_slow_file_transfer_is_given_its_time_and_arrives_once(
        db: Database, relay: Relay, clock: ManualClock, slow_slack: SlackStandIn,
        uow_factory: SqlUnitOfWorkFactory) -> None:
    queue_file_for_dm(uow_factory, slow_slack, clock)
    async with SlackSender.create("xoxb-test", base_url=slow_slack.base_url) as sender:
        sender.agent_files = SlackFileDownload("xoxb-test", ("127.0.0.1",))
        dispatcher = OutboxDispatcher(SqlOutboxQueue(db), [sender], clock,
                                      DeliveryOutcomes(uow_factory, relay), lease=LEASE,
                                      file_lease=FILE_LEASE)

        assert await dispatcher.run_once() == 1

    assert (dispatcher.delivered, dispatcher.failed) == (1, 0)
    shares = [f for f in slow_slack.files.values() if f.get("channel_id") == DM]
    assert len(shares) == 1 and shares[0]["content"] == PHOTO


def test_file_items_are_claimed_for_the_file_lease_and_others_for_the_lease(
        db: Database, clock: ManualClock, uow_factory: SqlUnitOfWorkFactory) -> None:
    with uow_factory() as uow:
        words = uow.outbox.add(ob.TELEGRAM, ob.SELLER_MESSAGE, {"address": "42"}, None,
                               "telegram:chat:42", clock.now())
        photo = uow.outbox.add(ob.TELEGRAM, ob.SELLER_FILE, {"address": "43"}, None,
                               "telegram:chat:43", clock.now())
        uow.commit()
    queue = SqlOutboxQueue(db)

    claimed = queue.claim_due([ob.TELEGRAM], clock.now(), 10, LEASE, (), FILE_LEASE)

    assert sorted(i.id for i in claimed) == sorted([words, photo])
    with db.sessions() as session:
        until = {row.id: row.claimed_until for row in session.query(OutboxRow)}
    words_until, photo_until = until[words], until[photo]
    assert words_until is not None and photo_until is not None
    assert photo_until - words_until == FILE_LEASE - LEASE
    # The ordinary claim runs out first: that item alone is handed over again.
    later = clock.advance(LEASE + timedelta(seconds=1))
    again = queue.claim_due([ob.TELEGRAM], later, 10, LEASE, (), FILE_LEASE)
    assert [(i.id, i.recovering) for i in again] == [(words, True)]


def test_the_file_lease_covers_a_download_two_uploads_and_an_ordinary_send() -> None:
    share = outbox_dispatcher.SEND_SHARE_OF_LEASE
    downloads = (file_download.DOWNLOAD_TIMEOUT, telegram_files.DOWNLOAD_TIMEOUT)
    uploads = (telegram_files_out.UPLOAD_TIMEOUT, float(AsyncWebClient().timeout))
    ordinary = outbox_dispatcher.LEASE.total_seconds() * share
    # Two uploads: a picture Telegram refuses as a photo goes again as a document.
    assert max(downloads) + 2 * max(uploads) + ordinary <= (
        outbox_dispatcher.FILE_LEASE.total_seconds() * share)
