"""`frontdoor serve` end to end (real SDKs against the stand-ins), for what must survive the
unusual paths: a seller who blocked the bot and came back, an agent's edit of a reply to a
seller in a Slack DM, a refused thread reply during a Slack outage, and per case type channels
configured in a `.env` file. The server and the helpers are those of test_serve_relay.py.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from bot import domain as d
from bot.classification import FakeClassifier
from frontdoor.serve_app import build_server
from frontdoor.server import create_app
from frontdoor.settings import Settings
from frontdoor.wiring import build_services
from storage.database import Database
from tests.integration.test_serve_relay import (
    AGENT,
    ORDER,
    RULES,
    SIGNING_SECRET,
    SLACK_TOKEN,
    SUPPORT,
    TELEGRAM_SECRET,
    TELEGRAM_TOKEN,
    WAIT,
    Served,
    TelegramSeller,
    UvicornServer,
)
from tests.standins import slack_api
from tests.standins.slack_api import SlackStandIn
from tests.standins.telegram_api import TelegramStandIn

SHIPPING = "C0SHIPPING"
SHIPPING_AGENT = "U0SHIPAGENT"


@contextlib.asynccontextmanager
async def serving_with_env_file(database: Database, env_file: Path) -> AsyncIterator[Served]:
    """The whole server, configured as an operator would: the platforms' addresses and
    secrets in the environment (here: keyword arguments), the rest in ``env_file``."""
    async with TelegramStandIn() as telegram, SlackStandIn() as slack:
        slack.set_members(SUPPORT, [AGENT])
        settings = Settings(  # type: ignore[call-arg]
            _env_file=env_file,
            frontdoor_database_url=database.url,
            telegram_bot_token=TELEGRAM_TOKEN, telegram_api_base_url=telegram.base_url,
            telegram_webhook_secret=TELEGRAM_SECRET, slack_bot_token=SLACK_TOKEN,
            slack_signing_secret=SIGNING_SECRET, slack_api_base_url=slack.base_url,
            slack_support_channel=SUPPORT, frontdoor_nlu_url="http://127.0.0.1:9/unused",
        )
        services = build_services(settings, database=database)
        classifier = FakeClassifier(dict(RULES), default=None)
        parts = build_server(services, classifier, with_scheduler=False)
        server = UvicornServer(create_app(parts))
        base_url = await server.start()
        try:
            async with httpx.AsyncClient(base_url=base_url, timeout=WAIT) as http:
                yield Served(telegram, slack, services, parts, http, classifier, server)
        finally:
            await server.stop()


# Per case type channels from .env ------------------------------------------------------------
async def test_a_case_type_channel_set_only_in_dotenv_gets_the_case_and_its_agents(
        db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SLACK_CHANNEL_SHIPPING", raising=False)
    env_file = tmp_path / ".env"
    env_file.write_text(f"SLACK_CHANNEL_SHIPPING={SHIPPING}\n", encoding="utf-8")
    async with serving_with_env_file(db, env_file) as served:
        served.slack.set_members(SHIPPING, [SHIPPING_AGENT])  # not in the support channel
        seller = TelegramSeller(served)
        await seller.register()
        mark = served.slack.mark()
        await seller.say(f"my order {ORDER} never arrived, the buyer is waiting",
                         expect="Open it?")
        await seller.press("Open the case", expect="Opened")

        parent = await served.slack.wait_for(
            "chat.postMessage", since=mark, timeout=WAIT,
            where=lambda r: not r.get("thread_ts") and "CX-000001" in r.get("text", ""))
        assert parent["channel"] == SHIPPING
        parent_ts = str(parent.response["ts"])
        await served.slack.wait_for("chat.postMessage", since=mark, timeout=WAIT,
                                    where=lambda r: r.get("thread_ts") == parent_ts)

        # A member of the shipping channel is an agent: the button works for them.
        mark = served.slack.mark()
        form = slack_api.block_action_form("case_status:investigating", "CX-000001",
                                           user=SHIPPING_AGENT, channel=SHIPPING,
                                           message_ts=parent_ts)
        response = await served.slack_post(form, "application/x-www-form-urlencoded")
        assert response.status_code == 200
        update = await served.slack.wait_for("chat.update", since=mark, timeout=WAIT)
        assert (update["channel"], update["ts"]) == (SHIPPING, parent_ts)
        assert served.services.cases.get_case("CX-000001").case.status == d.INVESTIGATING
        assert served.slack.calls("chat.postEphemeral") == []  # nobody was refused

