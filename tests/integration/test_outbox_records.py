"""What the dispatcher counts of its own work, and recording a delivery whose case message is
gone (same scripted senders as test_outbox_dispatch)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import select

from bot.cases import CaseService
from bot.clock import ManualClock
from storage.database import Database
from storage.models import OutboxRow
from tests.integration.case_rules_support import make_seller
from tests.integration.test_outbox_dispatch import ORDER, ScriptedSender, dispatcher


async def test_claims_are_counted_with_those_that_found_nothing(
        db: Database, service: CaseService, clock: ManualClock) -> None:
    ident, seller = make_seller(service, "43")
    service.open_case(seller.id, "order", "late", order_id=ORDER, identity_id=ident.id)
    slack = ScriptedSender("slack")
    dispatching = dispatcher(db, clock, slack)

    assert await dispatching.run_once() == 2  # the case's parent, then its first thread post
    # The thread post waits for its parent's send: each claim carried one item, and the
    # claim after the last send found nothing.
    assert (dispatching.claims, dispatching.empty_claims) == (3, 1)
    assert dispatching.record_transactions == 2

    assert await dispatching.run_once() == 0
    assert (dispatching.claims, dispatching.empty_claims) == (4, 2)


async def test_a_thread_post_of_a_message_the_seller_withdrew_is_recorded_once(
        db: Database, service: CaseService, clock: ManualClock) -> None:
    """The seller takes a message back while its thread post is still queued: the post is
    delivered (the withdrawal note follows it), and recording it must not fail on the ref to
    the message that no longer exists, or the post would be sent again at every lease."""
    ident, seller = make_seller(service, "44")
    case = service.open_case(seller.id, "order", "late", order_id=ORDER,
                             identity_id=ident.id).case
    added = service.add_seller_message(seller.id, case.number, "oops, wrong case")
    service.withdraw_seller_message(seller.id, added.message.id, timedelta(minutes=5))
    slack = ScriptedSender("slack")
    dispatching = dispatcher(db, clock, slack)

    sent = await asyncio.wait_for(dispatching.run_once(), 10)

    assert dispatching.record_retries == 0
    assert sent == len(slack.seen) == 4  # parent, first post, the withdrawn one, the note
    with db.engine.connect() as conn:
        statuses = conn.execute(select(OutboxRow.status)).scalars().all()
    assert set(statuses) == {"sent"}
    # The lease runs out: nothing is claimed and posted again.
    clock.advance(timedelta(minutes=5))
    assert await dispatcher(db, clock, slack).run_once() == 0
    assert len(slack.seen) == 4
