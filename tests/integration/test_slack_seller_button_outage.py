"""A seller's button press in a Slack DM whose turn the database failed: Slack never sends an
interactive payload again, so the seller is asked to press it again, in the DM, by the real
bolt app against the Slack stand-in."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from urllib.parse import urlencode

import pytest
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.bolt_app import build_bolt_app
from bot.agent_desk import AgentDesk
from bot.cases import CaseService
from bot.messages import SellerMessage
from bot.texts import t
from storage.uow import SqlUnitOfWorkFactory
from tests.standins.slack_api import TEAM_ID, SlackStandIn

DM, SELLER = "D0SELLER9", "U0SELLER9"


@pytest.fixture
async def slack() -> AsyncIterator[SlackStandIn]:
    async with SlackStandIn() as standin:
        yield standin


def _press(value: str) -> AsyncBoltRequest:
    payload = {
        "type": "block_actions", "team": {"id": TEAM_ID}, "api_app_id": "A0STANDIN",
        "user": {"id": SELLER, "team_id": TEAM_ID}, "trigger_id": "9.9.9",
        "channel": {"id": DM}, "container": {"type": "message", "channel_id": DM},
        "actions": [{"type": "button", "action_id": "seller_button", "block_id": "b1",
                     "value": value, "action_ts": "1800000000.7"}]}
    return AsyncBoltRequest(body=urlencode({"payload": json.dumps(payload)}),
                            headers={"content-type": ["application/x-www-form-urlencoded"]})


async def test_a_press_the_database_failed_asks_the_seller_to_press_again(
        service: CaseService, uow_factory: SqlUnitOfWorkFactory, slack: SlackStandIn) -> None:
    pressed: list[SellerMessage] = []

    async def database_away(msg: SellerMessage) -> None:
        pressed.append(msg)
        raise ConnectionError("the database is unreachable")

    client = AsyncWebClient(token="xoxb-test", base_url=slack.base_url)
    bolt = build_bolt_app(client, None, AgentDesk(service, uow_factory), service,
                          database_away, ["C1"])

    answer = await bolt.async_dispatch(_press("ok"))

    assert answer.status == 200  # acknowledged: Slack shows no error of its own
    assert [m.button for m in pressed] == ["ok"]
    told = [r for r in slack.calls("chat.postMessage") if r.get("channel") == DM]
    assert [r.get("text") for r in told] == [t("engine.error")]


async def test_a_press_that_went_through_gets_no_apology(
        service: CaseService, uow_factory: SqlUnitOfWorkFactory, slack: SlackStandIn) -> None:
    pressed: list[SellerMessage] = []

    async def engine_up(msg: SellerMessage) -> None:
        pressed.append(msg)

    client = AsyncWebClient(token="xoxb-test", base_url=slack.base_url)
    bolt = build_bolt_app(client, None, AgentDesk(service, uow_factory), service, engine_up,
                          ["C1"])

    answer = await bolt.async_dispatch(_press("ok"))

    assert answer.status == 200 and len(pressed) == 1
    assert slack.calls("chat.postMessage") == []
