"""`frontdoor serve` end to end (real SDKs against the stand-ins), for what must survive the
unusual paths: a seller who blocked the bot and came back, an agent's edit of a reply to a
seller in a Slack DM, a refused thread reply during a Slack outage, and per case type channels
configured in a `.env` file. The server and the helpers are those of serve_relay_support.py.
"""

from __future__ import annotations

import contextlib
import itertools
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from sqlalchemy import select

from bot import domain as d
from frontdoor.serve_app import build_server
from frontdoor.server import create_app
from frontdoor.settings import Settings
from frontdoor.wiring import build_services
from storage.database import Database
from storage.models import IdentityRow
from tests.fakes import FakeClassifier
from tests.integration.serve_relay_support import (
    AGENT,
    ORDER,
    RULES,
    SIGNING_SECRET,
    SLACK_TOKEN,
    SUPPORT,
    TELEGRAM_SECRET,
    TELEGRAM_TOKEN,
    WAIT,
    OpenedCase,
    Served,
    TelegramSeller,
    UvicornServer,
    next_agent_ts,
    sent_to,
    serving,
    wait_in_thread,
)
from tests.standins import RecordedRequest, slack_api, telegram_api
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



# Sellers in a Slack DM ------------------------------------------------------------------------
_dm_seq = itertools.count(1)


@dataclass
class SlackDmSeller:
    """A seller who DMs the Slack app, as Slack delivers it to /slack/events."""

    served: Served
    user: str = "U0SELLER1"
    dm: str = "D0SELLER1"

    async def say(self, text: str, expect: str) -> RecordedRequest:
        n = next(_dm_seq)
        event = {"type": "message", "channel": self.dm, "channel_type": "im", "user": self.user,
                 "text": text, "ts": f"1800000000.{n:06d}"}
        mark = self.served.slack.mark()
        response = await self.served.slack_event(event, f"EvDm{n:06d}")
        assert response.status_code == 200, response.text
        return await self._answer(mark, expect)

    async def press(self, label: str, expect: str) -> RecordedRequest:
        """Press the Block Kit button whose label contains ``label`` in the latest DM."""
        button = next(
            e for r in reversed(self.served.slack.calls("chat.postMessage"))
            if r.get("channel") == self.dm
            for b in r.response["message"].get("blocks", []) if b["type"] == "actions"
            for e in b["elements"] if label in e["text"]["text"])
        payload = {
            "type": "block_actions", "team": {"id": slack_api.TEAM_ID},
            "api_app_id": "A0STANDIN", "user": {"id": self.user, "team_id": slack_api.TEAM_ID},
            "trigger_id": "9.9.9", "channel": {"id": self.dm},
            "container": {"type": "message", "channel_id": self.dm},
            "actions": [{"type": "button", "action_id": button["action_id"], "block_id": "b1",
                         "value": button["value"], "action_ts": f"1800000001.{next(_dm_seq)}"}]}
        mark = self.served.slack.mark()
        response = await self.served.slack_post(urlencode({"payload": json.dumps(payload)}),
                                                "application/x-www-form-urlencoded")
        assert response.status_code == 200, response.text
        return await self._answer(mark, expect)

    async def _answer(self, mark: int, expect: str) -> RecordedRequest:
        return await self.served.slack.wait_for(
            "chat.postMessage", since=mark, timeout=WAIT,
            where=lambda r: r.get("channel") == self.dm and expect in r.get("text", ""))

    async def open_case(self, text: str) -> str:
        """Register, open a case about ``text``; the case's parent ts once its thread exists."""
        code = self.served.services.cases.create_invitation("Slack Seller").code
        await self.say(code, expect="registered as")
        mark = self.served.slack.mark()
        await self.say(text, expect="Open it?")
        await self.press("Open the case", expect="CX-000001")
        parent = await self.served.slack.wait_for(
            "chat.postMessage", since=mark, timeout=WAIT,
            where=lambda r: r.get("channel") == SUPPORT and not r.get("thread_ts"))
        parent_ts = str(parent.response["ts"])
        await wait_in_thread(self.served, parent_ts, "never arrived")
        return parent_ts


def edited_event(agent_ts: str, parent_ts: str, old: str, new: str) -> dict[str, Any]:
    """The ``message_changed`` event Slack sends when an agent edits a thread message."""
    return {"type": "message", "subtype": "message_changed", "channel": SUPPORT,
            "channel_type": "channel", "hidden": True,
            "message": {"type": "message", "user": AGENT, "text": new, "ts": agent_ts,
                        "thread_ts": parent_ts},
            "previous_message": {"type": "message", "user": AGENT, "ts": agent_ts,
                                 "text": old}}


async def test_agent_edit_reaches_a_seller_in_a_slack_dm_as_an_edit(db: Database) -> None:
    async with serving(db) as served:
        seller = SlackDmSeller(served)
        parent_ts = await seller.open_case(f"my order {ORDER} never arrived, buyer waiting")
        agent_ts = await served.agent_writes(parent_ts, "Your refund is 12 EUR.")
        relayed = await served.slack.wait_for(
            "chat.postMessage", timeout=WAIT,
            where=lambda r: r.get("channel") == seller.dm and "12 EUR" in r.get("text", ""))
        # The delivery is recorded after the stand-in answered: the reaction comes after it.
        await served.slack.wait_for("reactions.add", timeout=WAIT,
                                    where=lambda r: r.get("timestamp") == agent_ts)

        response = await served.slack_event(edited_event(
            agent_ts, parent_ts, "Your refund is 12 EUR.", "Your refund is 21 EUR."))
        assert response.status_code == 200

        update = await served.slack.wait_for(
            "chat.update", timeout=WAIT, where=lambda r: r.get("channel") == seller.dm)
        assert update["ts"] == relayed.response["ts"]
        assert update.status == 200 and update.response["ok"], update.response
        assert "Your refund is 21 EUR." in update["text"]
        shown = served.slack.find(seller.dm, str(relayed.response["ts"]))
        assert shown is not None and "21 EUR" in shown["text"]
        # Nothing was reported as undelivered in the thread.
        assert [r for r in served.slack.calls("chat.postMessage")
                if r.get("thread_ts") == parent_ts and "Not delivered" in r.get("text", "")] == []


# Events whose processing failed after Slack's acknowledgement -------------------------------
async def test_an_agent_reply_whose_processing_failed_after_the_ack_is_processed_again(
        db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    # Slack events are acknowledged before they are processed, so Slack never retries them:
    # the inbox record's lease (1 s here) runs out and the server processes it again.
    async with serving(db, frontdoor_inbound_lease_seconds=1) as served:
        seller = TelegramSeller(served)
        await seller.register()
        case = await seller.open_case(f"my order {ORDER} never arrived, buyer waiting")
        cases = served.services.cases
        real_reply = cases.agent_reply
        failures = [ConnectionError("server closed the connection unexpectedly")]

        def reply_failing_once(*args: Any, **kwargs: Any) -> Any:
            if failures:
                raise failures.pop()  # as a database connection lost mid-request would
            return real_reply(*args, **kwargs)

        monkeypatch.setattr(cases, "agent_reply", reply_failing_once)
        event = slack_api.thread_reply_event(SUPPORT, case.parent_ts, "Refund sent today.",
                                             ts=next_agent_ts())

        first = await served.slack_event(event, "EvFAILS0001")
        assert first.status_code == 200  # acknowledged at once, before the work

        await served.telegram.wait_for(
            "sendMessage", timeout=WAIT, where=lambda r: r.get("chat_id") == seller.chat
            and "Refund sent today." in r.get("text", ""))
        assert failures == []  # the first processing did fail
        replies = [m.text for m in cases.get_case(case.number).messages
                   if m.author_kind == d.AGENT]
        assert replies == ["Refund sent today."]
        # A late retry from Slack (it had not seen the answer) is dropped: once in the case.
        retry = await served.slack_event(event, "EvFAILS0001", retry_num=1)
        assert retry.status_code == 200
        await served.wait_inbox_empty()
        replies = [m.text for m in cases.get_case(case.number).messages
                   if m.author_kind == d.AGENT]
        assert replies == ["Refund sent today."]


# A refused thread reply is answered through the outbox ----------------------------------------
async def test_a_refused_reply_is_reported_in_the_thread_after_a_slack_outage(
        db: Database) -> None:
    async with serving(db) as served:
        seller = TelegramSeller(served)
        await seller.register()
        case = await seller.open_case(f"my order {ORDER} never arrived, buyer waiting")
        mark = served.slack.mark()
        served.services.cases.change_status(case.number, d.DECLINED, d.AGENT, AGENT,
                                            "the carrier confirmed delivery")
        await wait_in_thread(served, case.parent_ts, "Declined", since=mark)

        mark = served.slack.mark()
        served.slack.fail_next("chat.postMessage", slack_api.server_error(503), times=2)
        # Answered at once: the warning waits in the outbox, not in the request.
        await served.agent_writes(case.parent_ts, "One more thing about the refund.")

        warning = await wait_in_thread(served, case.parent_ts, "Not sent", since=mark)
        assert "declined" in warning["text"]
        tries = [r.status for r in served.slack.calls("chat.postMessage") if r.index >= mark]
        assert tries == [503, 503, 200]  # delayed by the outage, not lost, posted once
        assert sent_to(served, seller, "One more thing") == []


# A seller who blocked the bot and came back -------------------------------------------------------
async def _blocked_by_a_failed_send(served: Served, seller: TelegramSeller,
                                    case: OpenedCase) -> None:
    """The seller blocks the bot; the next agent reply is refused (403) and the thread says so."""
    served.telegram.block_chat(seller.chat)
    mark = served.slack.mark()
    await served.agent_writes(case.parent_ts, "We need the invoice, please.")
    await wait_in_thread(served, case.parent_ts, "no longer accepts messages", since=mark)


def _blocked_at(served: Served, seller: TelegramSeller) -> Any:
    return served.scalar(select(IdentityRow.blocked_at).where(
        IdentityRow.channel == "telegram", IdentityRow.external_id == seller.chat))


async def test_a_seller_who_writes_again_after_blocking_gets_answers_again(
        db: Database) -> None:
    async with serving(db) as served:
        seller = TelegramSeller(served)
        await seller.register()
        case = await seller.open_case(f"my order {ORDER} never arrived, buyer waiting")
        await _blocked_by_a_failed_send(served, seller, case)
        assert _blocked_at(served, seller) is not None

        served.telegram.blocked_chats.discard(seller.chat)  # they unblocked it in Telegram
        mark = served.slack.mark()
        # Writing is proof enough: the bot's own answer gets through.
        await seller.say("The delivery tracking still shows Leipzig.", expect="Added to")

        await wait_in_thread(served, case.parent_ts, "accepts messages again", since=mark)
        assert _blocked_at(served, seller) is None
        await served.agent_writes(case.parent_ts, "Welcome back: the invoice, please.")
        await served.telegram.wait_for(
            "sendMessage", timeout=WAIT, where=lambda r: r.get("chat_id") == seller.chat
            and "Welcome back" in r.get("text", "") and r.status == 200)
        # The reply dropped while blocked is not replayed (the thread said it was not
        # delivered; the agent decides what to send again).
        assert [r.status for r in sent_to(served, seller, "We need the invoice")] == [403]


async def test_telegram_reporting_an_unblock_restores_delivery(db: Database) -> None:
    async with serving(db) as served:
        seller = TelegramSeller(served)
        await seller.register()
        case = await seller.open_case(f"my order {ORDER} never arrived, buyer waiting")
        await _blocked_by_a_failed_send(served, seller, case)

        served.telegram.blocked_chats.discard(seller.chat)
        mark = served.slack.mark()
        unblocked = telegram_api.my_chat_member_update("member", user_id=seller.user_id)
        assert (await served.telegram_update(unblocked)).status_code == 200
        assert (await served.telegram_update(unblocked)).status_code == 200  # a replay

        note = await wait_in_thread(served, case.parent_ts, "accepts messages again",
                                    since=mark)
        assert "telegram" in note["text"]
        await served.agent_writes(case.parent_ts, "Thanks for unblocking us.")
        await served.telegram.wait_for(
            "sendMessage", timeout=WAIT, where=lambda r: r.get("chat_id") == seller.chat
            and "Thanks for unblocking" in r.get("text", "") and r.status == 200)
        # A later thread post as a marker: a second note would have come before it.
        await seller.say("The delivery tracking still shows Leipzig.", expect="Added to")
        await wait_in_thread(served, case.parent_ts, "still shows Leipzig", since=mark)
        assert len([r for r in served.slack.calls("chat.postMessage") if r.index >= mark
                    and "accepts messages again" in r.get("text", "")]) == 1


async def test_telegram_reporting_a_block_stops_delivery_before_a_send_fails(
        db: Database) -> None:
    async with serving(db) as served:
        seller = TelegramSeller(served)
        await seller.register()
        case = await seller.open_case(f"my order {ORDER} never arrived, buyer waiting")
        served.telegram.block_chat(seller.chat)
        telegram_mark, mark = served.telegram.mark(), served.slack.mark()

        kicked = telegram_api.my_chat_member_update("kicked", user_id=seller.user_id)
        assert (await served.telegram_update(kicked)).status_code == 200

        await wait_in_thread(served, case.parent_ts, "blocked the bot", since=mark)
        assert _blocked_at(served, seller) is not None
        await served.agent_writes(case.parent_ts, "Are you still there?")
        await wait_in_thread(served, case.parent_ts, "Not delivered to the seller", since=mark)
        assert [r for r in served.telegram.requests[telegram_mark:]
                if r.method == "sendMessage"] == []  # never tried: no 403 needed


async def test_the_webhook_asks_telegram_for_block_and_unblock_updates(
        sqlite_db: Database) -> None:
    async with serving(sqlite_db,
                       telegram_webhook_url="https://support.example/telegram/webhook") as served:
        registered = await served.telegram.wait_for("setWebhook", timeout=WAIT)
        assert set(registered["allowed_updates"]) == {
            "message", "callback_query", "my_chat_member"}
