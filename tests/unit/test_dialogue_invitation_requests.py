"""Requests for an invitation reach the agents and get an answer (issue 12, invites)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from bot import outbox as ob
from bot.case_rules.invitation_requests import ACTION_PREFIX, APPROVE, DECLINE
from bot.cases import CaseService
from bot.relay import Relay, RelayConfig
from storage.models import OutboxRow
from storage.uow import SqlUnitOfWorkFactory
from tests.unit import chat_harness
from tests.unit.chat_harness import Chat

engine = chat_harness.engine
guest = chat_harness.guest


@pytest.fixture
def relay() -> Relay:
    return Relay(RelayConfig(agents_destination="slack", channel_for=lambda _t: "C_SUPPORT",
                             invites_channel="C_INVITES"))


def channel_posts(uow_factory: SqlUnitOfWorkFactory) -> list[dict[str, Any]]:
    with uow_factory() as uow:
        rows = uow.session.scalars(select(OutboxRow).where(OutboxRow.kind == ob.CHANNEL_POST)
                                   .order_by(OutboxRow.id))
        return [dict(r.payload) for r in rows]


async def ask(chat: Chat, note: str) -> None:
    await chat.say("hi")
    await chat.press("Request an invitation")
    await chat.say(note)


async def test_a_request_is_posted_with_approve_and_decline(
        guest: Chat, uow_factory: SqlUnitOfWorkFactory) -> None:
    await ask(guest, "Blue Kettle GmbH, we sell tea kettles in Germany")
    guest.expect("Your request is with the Ceylexo team")
    [post] = channel_posts(uow_factory)
    assert post["channel"] == "C_INVITES"
    assert "Guest (900)" in post["text"] and "telegram" in post["text"]
    assert "Blue Kettle GmbH" in post["text"]
    assert [a["action_id"] for a in post["actions"]] == [ACTION_PREFIX + APPROVE,
                                                         ACTION_PREFIX + DECLINE]


async def test_one_open_request_per_person(guest: Chat, service: CaseService,
                                           uow_factory: SqlUnitOfWorkFactory) -> None:
    await ask(guest, "Blue Kettle GmbH, tea kettles")
    await guest.say("hello")
    await guest.press("Request an invitation")
    guest.expect("already with our team")
    # Even typed from a flow started before the first request was sent, nothing more is posted.
    ident, _ = service.identify("telegram", "900")
    assert service.request_invitation(ident.id, "again, please") is None
    assert len(channel_posts(uow_factory)) == 1
    assert len(service.invitation_requests()) == 1


async def test_approve_registers_the_requester_and_tells_them(
        guest: Chat, service: CaseService) -> None:
    await ask(guest, "Blue Kettle GmbH, tea kettles")
    [request] = service.invitation_requests()
    decision = service.decide_invitation_request(request["id"], APPROVE, "U_AGENT")
    assert decision.outcome == APPROVE and not decision.already
    assert decision.seller_id is not None and decision.requester == "Guest (900)"
    assert "request was approved" in guest.outbox()[-1].text
    await guest.say("any update?")
    guest.expect("You have no active cases")  # a registered seller now, no code typed
    again = service.decide_invitation_request(request["id"], DECLINE, "U_OTHER")
    assert again.already and again.outcome == APPROVE  # the first decision stands
    told = [r.text for r in guest.outbox()]
    assert sum("request was approved" in x for x in told) == 1
    assert not any("can't offer you an invitation" in x for x in told)


async def test_decline_tells_them_politely_and_allows_a_new_request(
        guest: Chat, service: CaseService, uow_factory: SqlUnitOfWorkFactory) -> None:
    await ask(guest, "Blue Kettle GmbH, tea kettles")
    [request] = service.invitation_requests()
    decision = service.decide_invitation_request(request["id"], DECLINE, "U_AGENT")
    assert decision.outcome == DECLINE and decision.seller_id is None
    assert "can't offer you an invitation" in guest.outbox()[-1].text
    await guest.say("any update?")
    guest.expect("invitation only")  # still not registered
    # The decision's record is no code anyone can redeem.
    await guest.say(f"REQ-{request['id']}")
    guest.expect("doesn't work")
    await ask(guest, "We grew: now 40 products, please reconsider")
    guest.expect("Your request is with the Ceylexo team")
    assert len(channel_posts(uow_factory)) == 2
