"""Sends that died unrecorded, through the dispatcher over SQLite and PostgreSQL: the next
dispatcher finds what the dead process had posted in Slack (and records it as a fresh send
would), and sends once what it never posted. The real slack_sdk sender against the Slack
stand-in; the crash is a claim whose lease runs out without ``complete``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import select

from adapters.slack.sender import SlackSender
from bot import outbox as ob
from bot.cases import CaseService
from bot.clock import ManualClock
from bot.delivery_outcomes import DeliveryOutcomes
from bot.dispatcher import OutboxDispatcher
from bot.outbox import DeliveryResult, OutboundItem
from bot.relay import Relay
from storage.database import Database
from storage.models import MessageRefRow
from storage.outbox_queue import SqlOutboxQueue
from storage.uow import SqlUnitOfWorkFactory
from tests.integration.case_rules_support import make_seller
from tests.integration.test_slack_send_recovery import ORDER, SLACK_TOKEN, tag
from tests.standins.slack_api import SlackStandIn


@pytest.fixture
async def slack() -> AsyncIterator[SlackStandIn]:
    async with SlackStandIn() as standin:
        yield standin

LEASE = timedelta(seconds=60)


async def test_sends_that_died_unrecorded_are_found_or_sent_once_by_the_next_dispatcher(
        db: Database, service: CaseService, relay: Relay, clock: ManualClock,
        slack: SlackStandIn) -> None:
    queue = SqlOutboxQueue(db)
    support = "C_SUPPORT"  # where the relay fixture routes cases
    async with SlackSender.create(SLACK_TOKEN, base_url=slack.base_url) as sender:
        dispatcher = OutboxDispatcher(queue, [sender], clock,
                                      DeliveryOutcomes(SqlUnitOfWorkFactory(db), relay),
                                      lease=LEASE)

        async def send_and_die(deliver: bool = True) -> list[OutboundItem]:
            """A process claims the due Slack items, sends them (or not) and dies before
            recording anything; the next dispatcher runs once their lease has run out."""
            claimed = queue.claim_due([ob.SLACK], clock.now(), 10, LEASE)
            if deliver:
                for one in claimed:
                    assert (await sender.deliver(one)).ok
            clock.advance(LEASE + timedelta(seconds=1))
            return claimed

        ident, seller = make_seller(service, "42")
        case = service.open_case(seller.id, "order", "never arrived", order_id=ORDER,
                                 identity_id=ident.id).case

        # 1. The case parent was posted, not recorded: found, and its ts becomes the thread.
        [parent] = await send_and_die()
        assert parent.kind == ob.CASE_PARENT and not parent.recovering
        assert await dispatcher.run_once() == 2  # the parent (found), then the first post
        [posted_parent] = [m for m in slack.messages[support] if "thread_ts" not in m]
        assert posted_parent["metadata"] == tag(parent.id)
        detail = service.get_case(case.number)
        assert detail.agents_thread is not None
        assert (detail.agents_thread.channel, detail.agents_thread.parent_message_id) == (
            support, posted_parent["ts"])
        assert len(slack.thread(support, posted_parent["ts"])) == 1

        # 2. A thread post was posted, not recorded: found, and recorded where it is.
        service.add_seller_message(seller.id, case.number, "any news?")
        [post] = await send_and_die()
        assert await dispatcher.run_once() == 1
        replies = slack.thread(support, posted_parent["ts"])
        assert [m["metadata"] for m in replies][-1] == tag(post.id) and len(replies) == 2

        # 3. A process claimed a thread post and died before sending it: sent once.
        service.add_seller_message(seller.id, case.number, "hello?")
        [lost] = await send_and_die(deliver=False)
        assert await dispatcher.run_once() == 1
        replies = slack.thread(support, posted_parent["ts"])
        assert [m["metadata"] for m in replies][-1] == tag(lost.id) and len(replies) == 3

    assert dispatcher.delivered == 4 and dispatcher.failed == 0
    assert queue.counts().get("pending", 0) == 0
    looked = slack.calls("conversations.history") + slack.calls("conversations.replies")
    assert len(looked) == 3  # one look per recovering item, none for the fresh ones
    with db.sessions() as session:  # where the thread posts landed, as for fresh sends
        refs = {r.case_message_id: r.message_id for r in session.scalars(
            select(MessageRefRow).where(MessageRefRow.platform == ob.SLACK))}
    assert sorted(refs.values()) == sorted(m["ts"] for m in replies)


async def test_an_item_requeued_by_the_operator_is_looked_for_before_it_is_posted_again(
        db: Database, service: CaseService, relay: Relay, clock: ManualClock,
        slack: SlackStandIn, uow_factory: SqlUnitOfWorkFactory) -> None:
    """Its last try reached Slack but the answer was lost (a timeout), and it was
    dead-lettered; `frontdoor outbox retry` gives it a fresh attempt budget, not a clean
    slate: the next dispatcher finds the post instead of posting the case's parent twice."""
    queue = SqlOutboxQueue(db)
    support = "C_SUPPORT"
    async with SlackSender.create(SLACK_TOKEN, base_url=slack.base_url) as sender:
        dispatcher = OutboxDispatcher(queue, [sender], clock,
                                      DeliveryOutcomes(SqlUnitOfWorkFactory(db), relay),
                                      lease=LEASE)
        ident, seller = make_seller(service, "42")
        service.open_case(seller.id, "order", "never arrived", order_id=ORDER,
                          identity_id=ident.id)
        [parent] = queue.claim_due([ob.SLACK], clock.now(), 10, LEASE)
        assert (await sender.deliver(parent)).ok  # posted; the answer never came back
        with uow_factory() as uow:
            assert uow.outbox.complete(parent.id, 8, DeliveryResult(
                ok=False, error="slack: network error TimeoutError()"), clock.now(), None,
                dead=True)
            uow.commit()

        assert queue.retry_dead(parent.id, clock.now())
        assert await dispatcher.run_once() == 2  # the parent (found), then the first post

    assert dispatcher.delivered == 2 and dispatcher.failed == 0
    assert [m["metadata"] for m in slack.messages[support] if "thread_ts" not in m] == [
        tag(parent.id)]
    assert len(slack.calls("conversations.history")) == 1
