"""Change type from the case card (issue 12), through `frontdoor serve` on the real slack-bolt
against the Slack stand-in, on SQLite and PostgreSQL: the card's select menu gives the case
another type; when that type has its own channel the parent moves there (a new parent linking
the old one, the old parent updated to say where), the duplicate check follows the new type,
and a change that would make a second active case on one issue is refused with the reason.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlencode

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from bot import domain as d
from bot import outbox as ob
from frontdoor.cli import app
from frontdoor.settings import load_settings
from frontdoor.wiring import build_services
from storage.database import Database
from storage.models import OutboxRow
from tests.integration.serve_relay_support import (
    AGENT,
    ORDER,
    SUPPORT,
    WAIT,
    OpenedCase,
    Served,
    TelegramSeller,
    serving,
)
from tests.integration.test_cli import seller_with_case
from tests.integration.test_serve_agent_deletes import deletion
from tests.standins import RecordedRequest, slack_api

PAYMENTS = "C0PAYMENTS"


@pytest.fixture
async def served(db: Database) -> AsyncIterator[Served]:
    async with serving(db, slack_channel_payment=PAYMENTS,
                       slack_link_base="https://acme.slack.com") as running:
        running.slack.set_members(PAYMENTS, [AGENT])
        yield running


@pytest.fixture
async def seller(served: Served) -> TelegramSeller:
    seller = TelegramSeller(served)
    await seller.register()
    return seller


@pytest.fixture
async def case(seller: TelegramSeller) -> OpenedCase:
    return await seller.open_case(f"my order {ORDER} never arrived, the buyer is waiting")


def type_options(request: RecordedRequest) -> list[str]:
    menus = [e for b in request["blocks"] if b["type"] == "actions" for e in b["elements"]
             if e["type"] == "static_select"]
    assert len(menus) == 1 and menus[0]["action_id"] == "case_type:select"
    return [o["value"] for o in menus[0]["options"]]


async def choose_type(served: Served, case: OpenedCase, case_type: str,
                      channel: str = SUPPORT) -> None:
    payload: dict[str, Any] = slack_api.block_action_payload(
        "case_type:select", "", user=AGENT, channel=channel, message_ts=case.parent_ts,
        response_url=served.slack.response_url())
    payload["actions"] = [{
        "type": "static_select", "action_id": "case_type:select", "block_id": "b",
        "selected_option": {"text": {"type": "plain_text", "text": case_type},
                            "value": f"{case.number}|{case_type}"},
        "action_ts": str(time.time())}]
    response = await served.slack_post(urlencode({"payload": json.dumps(payload)}),
                                       "application/x-www-form-urlencoded")
    assert response.status_code == 200, response.text


async def test_the_parent_moves_to_the_new_types_channel(
        served: Served, seller: TelegramSeller, case: OpenedCase) -> None:
    assert f"{case.number}|payment" in type_options(case.parent)
    assert f"{case.number}|shipping" not in type_options(case.parent)  # its own type

    await choose_type(served, case, "payment")

    new_parent = await served.slack.wait_for(
        "chat.postMessage", timeout=WAIT, where=lambda r: r.get("channel") == PAYMENTS
        and not r.get("thread_ts") and r.status == 200)
    new_ts = str(new_parent.response["ts"])
    old_link = f"https://acme.slack.com/archives/{SUPPORT}/p{case.parent_ts.replace('.', '')}"
    assert any(old_link in f["text"] for b in new_parent["blocks"] if b["type"] == "section"
               for f in b.get("fields", []))
    assert f"{case.number}|shipping" in type_options(new_parent)

    moved = await served.slack.wait_for(
        "chat.update", timeout=WAIT, where=lambda r: r.get("ts") == case.parent_ts
        and "moved" in r.get("text", ""))
    moved_text = json.dumps(moved["blocks"])
    assert f"<#{PAYMENTS}>" in moved_text
    assert f"https://acme.slack.com/archives/{PAYMENTS}/p{new_ts.replace('.', '')}" in moved_text
    assert "static_select" not in moved_text and "button" not in moved_text
    stored = served.services.cases.get_case(case.number)
    assert stored.case.case_type == "payment" and stored.agents_thread is not None
    assert (stored.agents_thread.channel, stored.agents_thread.parent_message_id) == (
        PAYMENTS, new_ts)
    await served.slack.wait_for(
        "chat.postMessage", timeout=WAIT, where=lambda r: r.get("channel") == PAYMENTS
        and r.get("thread_ts") == new_ts and "type" in r.get("text", "").lower())

    # The seller's next words land in the new thread; a reply an agent still writes in the old
    # thread reaches the seller all the same.
    mark = served.slack.mark()
    await seller.say(f"any news about {ORDER}? the payout is still missing")
    await served.slack.wait_for("chat.postMessage", since=mark, timeout=WAIT, where=lambda r: (
        r.get("channel") == PAYMENTS and r.get("thread_ts") == new_ts
        and "payout is still missing" in r.get("text", "")))
    old_reply_ts = await served.agent_writes(case.parent_ts, "Answered from the old thread")
    await served.telegram.wait_for("sendMessage", timeout=WAIT, where=lambda r: (
        "Answered from the old thread" in r.get("text", "")))
    # Its delivery ✅ goes on the agent's message where it is: the old channel.
    await served.slack.wait_for("reactions.add", timeout=WAIT, where=lambda r: (
        r.get("timestamp") == old_reply_ts and r.get("channel") == SUPPORT and r.status == 200))
    # Deleting it there takes the seller's copy back: the reply is found by where it was written.
    sent = await served.telegram.wait_for("sendMessage", timeout=WAIT, where=lambda r: (
        "Answered from the old thread" in r.get("text", "")))
    event = deletion(case.parent_ts, old_reply_ts, "Answered from the old thread")
    assert (await served.slack_event(event, "Ev0MOVEDDEL")).status_code == 200
    deleted = await served.telegram.wait_for("deleteMessage", timeout=WAIT)
    assert str(deleted["message_id"]) == str(sent.response["result"]["message_id"])


async def test_a_change_onto_another_active_cases_issue_is_refused_with_the_reason(
        served: Served, seller: TelegramSeller, case: OpenedCase) -> None:
    seller_id = served.services.cases.get_case(case.number).case.seller_id
    other = served.services.cases.open_case(seller_id, "order", "the buyer wants a refund",
                                            order_id=ORDER).case
    mark = served.slack.mark()

    await choose_type(served, case, "order")

    refusal = await served.slack.wait_for("chat.postEphemeral", since=mark, timeout=WAIT)
    assert refusal["user"] == AGENT and "Not changed" in refusal["text"]
    assert other.number in refusal["text"]
    assert served.services.cases.get_case(case.number).case.case_type == "shipping"


async def test_the_duplicate_check_follows_the_new_type(
        served: Served, case: OpenedCase) -> None:
    cases = served.services.cases
    await choose_type(served, case, "payment")
    await served.slack.wait_for("chat.update", timeout=WAIT,
                                where=lambda r: r.get("ts") == case.parent_ts)
    seller_id = cases.get_case(case.number).case.seller_id

    same = cases.open_case(seller_id, "payment", "payout missing", order_id=ORDER)
    assert not same.created and same.case.number == case.number
    shipping = cases.open_case(seller_id, "shipping", "the parcel is lost", order_id=ORDER)
    assert shipping.created and shipping.case.status == d.OPEN


def test_the_cli_moves_the_parent_too(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    """`frontdoor case type` runs the same rule: the parent moves, the old one is updated."""
    for name, value in {"FRONTDOOR_DATABASE_URL": db.url, "SLACK_BOT_TOKEN": "xoxb-x",
                        "SLACK_SUPPORT_CHANNEL": SUPPORT,
                        "SLACK_CHANNEL_PAYMENT": PAYMENTS}.items():
        monkeypatch.setenv(name, value)
    number = seller_with_case()  # an "order" case
    services = build_services(load_settings())
    case = services.cases.get_case(number).case
    with services.uow_factory() as uow:  # its parent was posted in the support channel
        uow.threads.add(case.id, "slack", SUPPORT, "1700000000.000100")
        uow.commit()

    result = CliRunner().invoke(app, ["case", "type", number, "payment"])

    assert result.exit_code == 0, result.output
    moved = services.cases.get_case(number)
    assert (moved.case.case_type, moved.agents_thread) == ("payment", None)
    with services.database.sessions() as session:
        items = [(row.kind, row.payload) for row in session.scalars(
            select(OutboxRow).where(OutboxRow.case_id == case.id).order_by(OutboxRow.id))]
    parents = [p for kind, p in items if kind == ob.CASE_PARENT]
    assert parents[-1]["channel"] == PAYMENTS
    assert parents[-1]["card"]["moved_from_link"].endswith(f"/archives/{SUPPORT}/p1700000000000100")
    [old] = [p for kind, p in items if kind == ob.PARENT_MOVED]
    assert (old["channel"], old["ts"], old["to_channel"]) == (SUPPORT, "1700000000.000100",
                                                              PAYMENTS)
