"""An agent deletes a message they relayed (issue 12), through `frontdoor serve` on the real
slack-bolt and python-telegram-bot against the stand-ins, on SQLite and PostgreSQL: Slack's
``message_deleted`` takes the seller's copy back (Telegram ``deleteMessage``, Slack DM
``chat.delete``) once, through the outbox; too old for Telegram (48 h), refused by the
platform, or on a channel that cannot (the console), the thread is told instead.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

from bot import domain as d
from bot import outbox as ob
from bot.cases import CaseService
from bot.clock import ManualClock
from storage.database import Database
from storage.uow import SqlUnitOfWorkFactory
from tests.integration import serve_relay_support as relay_fixtures
from tests.integration.case_rules_support import outbox
from tests.integration.serve_relay_support import (
    AGENT,
    ORDER,
    SUPPORT,
    WAIT,
    OpenedCase,
    Served,
    TelegramSeller,
    serving,
    wait_in_thread,
)
from tests.integration.sweep_support import open_case
from tests.integration.test_serve_slack_dm_files import DmSeller
from tests.standins import Fault, RecordedRequest

served = relay_fixtures.served
seller = relay_fixtures.seller
case = relay_fixtures.case
_ts = itertools.count(1)


def deletion(parent_ts: str, agent_ts: str, text: str) -> dict[str, Any]:
    """The event Slack sends when an agent deletes their message ``agent_ts`` in a thread."""
    return {"type": "message", "subtype": "message_deleted", "channel": SUPPORT,
            "channel_type": "channel", "hidden": True, "deleted_ts": agent_ts,
            "ts": f"1900000000.{next(_ts):06d}",
            "previous_message": {"type": "message", "user": AGENT, "text": text,
                                 "ts": agent_ts, "thread_ts": parent_ts}}


async def relayed(served: Served, case: OpenedCase, text: str) -> tuple[str, RecordedRequest]:
    """An agent's reply that reached the Telegram seller: its Slack ts and the sendMessage."""
    agent_ts = await served.agent_writes(case.parent_ts, text)
    sent = await served.telegram.wait_for("sendMessage", timeout=WAIT,
                                          where=lambda r: text in r.get("text", ""))
    # The ✅ follows the recorded delivery: the seller's copy is known from here on.
    await served.slack.wait_for("reactions.add", timeout=WAIT,
                                where=lambda r: r.get("timestamp") == agent_ts)
    return agent_ts, sent


async def test_a_deleted_reply_is_deleted_for_the_telegram_seller_once(
        served: Served, seller: TelegramSeller, case: OpenedCase) -> None:
    agent_ts, sent = await relayed(served, case, "Your refund is 12 EUR.")
    message_id = sent.response["result"]["message_id"]

    event = deletion(case.parent_ts, agent_ts, "Your refund is 12 EUR.")
    assert (await served.slack_event(event, "Ev0DELETE1")).status_code == 200
    assert (await served.slack_event(event, "Ev0DELETE1", retry_num=1)).status_code == 200
    # A thread parent's way of saying it (a tombstone), for the same message: nothing more.
    tombstone = {"type": "message", "subtype": "message_changed", "channel": SUPPORT,
                 "channel_type": "channel", "hidden": True,
                 "message": {"type": "message", "subtype": "tombstone", "ts": agent_ts,
                             "thread_ts": case.parent_ts, "text": "This message was deleted."},
                 "previous_message": {"type": "message", "user": AGENT, "ts": agent_ts}}
    assert (await served.slack_event(tombstone, "Ev0DELETE2")).status_code == 200

    await wait_in_thread(served, case.parent_ts, "Deleted for the seller")
    [delete] = served.telegram.calls("deleteMessage")
    assert (delete["chat_id"], int(delete["message_id"])) == (seller.chat, message_id)
    assert (seller.chat, message_id) in served.telegram.deleted
    # The marker proves no second delete is still on its way (the chat's order).
    await served.agent_writes(case.parent_ts, "Marker after the delete")
    await served.telegram.wait_for("sendMessage", timeout=WAIT,
                                   where=lambda r: "Marker after the delete" in r.get("text", ""))
    assert len(served.telegram.calls("deleteMessage")) == 1
    detail = served.services.cases.get_case(case.number)
    assert "🗑 This message was deleted." in [m.text for m in detail.messages]
    [event_row] = [e for e in detail.events if e.kind == "message_deleted"]
    assert event_row.reason == "Your refund is 12 EUR."  # the words stay on record


async def test_a_message_older_than_48_hours_stays_and_the_thread_says_so(
        db: Database) -> None:
    clock = ManualClock(datetime.now(UTC))
    async with serving(db, clock=clock) as served:
        seller = TelegramSeller(served)
        await seller.register()
        case = await seller.open_case(f"my order {ORDER} never arrived, the buyer waits")
        agent_ts, _ = await relayed(served, case, "Please send the invoice.")
        clock.advance(hours=49)

        event = deletion(case.parent_ts, agent_ts, "Please send the invoice.")
        assert (await served.slack_event(event)).status_code == 200

        note = await wait_in_thread(served, case.parent_ts, "Could not delete it")
        assert "48 hours" in note["text"] and "Telegram" in note["text"]
        assert served.telegram.calls("deleteMessage") == []


async def test_telegram_refusing_the_delete_is_told_in_the_thread(
        served: Served, seller: TelegramSeller, case: OpenedCase) -> None:
    agent_ts, _ = await relayed(served, case, "Wrong case, sorry.")
    served.telegram.fail_next("deleteMessage", Fault(400, {
        "ok": False, "error_code": 400,
        "description": "Bad Request: message can't be deleted for everyone"}))

    assert (await served.slack_event(deletion(case.parent_ts, agent_ts, "Wrong case"))).status_code == 200

    note = await wait_in_thread(served, case.parent_ts, "Could not delete it")
    assert "can't be deleted" in note["text"]
    assert not [r for r in served.slack.calls("chat.postMessage")
                if "Deleted for the seller" in r.get("text", "")]


async def test_a_reply_in_a_slack_dm_is_deleted_with_chat_delete(served: Served) -> None:
    dm = DmSeller(served)
    parent_ts = await dm.opens_a_case()
    # The thread exists for the desk once the parent's delivery is recorded: its next post.
    await served.slack.wait_for("chat.postMessage", timeout=WAIT,
                                where=lambda r: r.get("thread_ts") == parent_ts)
    agent_ts = await served.agent_writes(parent_ts, "We found the parcel.")
    posted = await served.slack.wait_for("chat.postMessage", timeout=WAIT, where=lambda r: (
        r.get("channel") == dm.dm and "found the parcel" in r.get("text", "")))
    await served.slack.wait_for("reactions.add", timeout=WAIT,
                                where=lambda r: r.get("timestamp") == agent_ts)

    event = deletion(parent_ts, agent_ts, "We found the parcel.")
    assert (await served.slack_event(event)).status_code == 200

    delete = await served.slack.wait_for("chat.delete", timeout=WAIT)
    assert delete["ts"] == posted.response["ts"]
    assert delete["channel"] == posted.response["channel"]
    await wait_in_thread(served, parent_ts, "Deleted for the seller")


def test_a_reply_not_sent_yet_is_withdrawn_and_the_console_cannot_take_one_back(
        service: CaseService, uow_factory: SqlUnitOfWorkFactory) -> None:
    """The rule itself: nothing is dispatched here, so the first reply is still queued."""
    _, case = open_case(service)
    _, reply = service.agent_reply(case.number, AGENT, "On it", "Bo", from_agents_platform=True)

    assert service.agent_delete(reply.id, AGENT) is not None

    [row] = [r for r in outbox(uow_factory, ob.SELLER_MESSAGE) if "On it" in str(r.payload)]
    assert (row.status, row.last_error) == ("withdrawn", "deleted by the agent")
    assert any("Withdrawn before it reached the seller" in str(r.payload["text"])
               for r in outbox(uow_factory, ob.THREAD_POST))
    assert outbox(uow_factory, ob.SELLER_DELETE) == []
    assert service.agent_delete(reply.id, AGENT) is not None  # twice: nothing more
    assert len([r for r in outbox(uow_factory, ob.THREAD_POST)
                if "Withdrawn" in str(r.payload["text"])]) == 1

    # A seller in the console saw the reply: the console cannot take it back.
    invitation = service.create_invitation("Console Shop")
    identity, _ = service.identify("console", "me")
    seller = service.register(identity.id, invitation.code)
    console_case = service.open_case(seller.id, "payment", "payout missing",
                                     identity_id=identity.id).case
    _, shown = service.agent_reply(console_case.number, AGENT, "Shown in the console", "Bo",
                                   from_agents_platform=True)
    [copy] = [r for r in outbox(uow_factory, ob.SELLER_MESSAGE)
              if "Shown in the console" in str(r.payload)]
    with uow_factory() as uow:
        assert uow.outbox.complete(copy.id, 1, ob.DeliveryResult(True, "1", "me"),
                                   datetime.now(UTC) - timedelta(minutes=1), None, False)
        uow.commit()

    service.agent_delete(shown.id, AGENT)

    assert any("The console cannot take a message back" in str(r.payload["text"])
               for r in outbox(uow_factory, ob.THREAD_POST))
    assert outbox(uow_factory, ob.SELLER_DELETE) == []
    assert service.get_case(console_case.number).case.status in d.ACTIVE_STATUSES
