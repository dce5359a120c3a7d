"""`frontdoor serve` end to end: the real server app (create_app(build_server(...))) under a real
uvicorn on 127.0.0.1, the real python-telegram-bot and slack-bolt/slack_sdk code, and the
stand-in Bot API and Web API servers. Sellers talk through /telegram/webhook, agents through
signed /slack/events requests; what reaches the platforms is read from the stand-ins.

Nothing here sleeps to synchronise: webhook handlers finish their database work before they
answer, and everything outbound is awaited at the stand-ins (``wait_for``). Because the outbox
keeps delivery order per chat and per case thread, "X was sent once" is checked by sending a
later marker message and waiting for it: a duplicate of X would have arrived before it.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode

import httpx
import pytest
import uvicorn
from sqlalchemy import func, select

from bot import domain as d
from bot.clock import Clock, ManualClock
from frontdoor.serve_app import build_server
from frontdoor.server import ServerParts, create_app
from frontdoor.settings import Settings
from frontdoor.wiring import Services, build_services
from storage.database import Database
from storage.models import CaseMessageRow, CaseRow, InboxRow, OutboxRow, ProcessedEventRow
from tests.fakes import FakeClassifier
from tests.standins import RecordedRequest, slack_api, telegram_api
from tests.standins.slack_api import SlackStandIn
from tests.standins.telegram_api import TelegramStandIn

TELEGRAM_TOKEN = "123:TEST"
TELEGRAM_SECRET = "tg-webhook-secret"
SLACK_TOKEN = "xoxb-test"
SIGNING_SECRET = "slack-signing-secret"
SUPPORT = "C0SUPPORT"
AGENT = "U0AGENT01"
ORDER = "123-1234567-1234567"
ORDER2 = "240518K7QW93XZ"
WAIT = 15.0  # generous: a loaded 2-core machine; the retry tests wait out 1-4 s of backoff

# Keyword -> intent (first match wins), as the Rasa model would classify these texts.
RULES: dict[str, str] = {
    "any update": "check_status",
    "never arrived": "shipping",
    "still missing": "shipping",
    "delivery": "shipping",
    "refund": "order",
    "hello": "greet",
    "thanks": "thank",
}


# The server under test ---------------------------------------------------------------------
def serve_settings(database_url: str, telegram: TelegramStandIn, slack: SlackStandIn,
                   **overrides: Any) -> Settings:
    """Settings as an operator would set them, pointing the platforms at the stand-ins."""
    values: dict[str, Any] = {
        "frontdoor_database_url": database_url,
        "telegram_bot_token": TELEGRAM_TOKEN,
        "telegram_api_base_url": telegram.base_url,
        "telegram_webhook_secret": TELEGRAM_SECRET,
        "slack_bot_token": SLACK_TOKEN,
        "slack_signing_secret": SIGNING_SECRET,
        "slack_api_base_url": slack.base_url,
        "slack_support_channel": SUPPORT,
        "frontdoor_nlu_url": "http://127.0.0.1:9/unused",
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


class UvicornServer:
    """A uvicorn server for an ASGI app in the running event loop, on a free local port.

    ``start`` returns once the lifespan has started (dispatcher running, bots initialised)
    and the socket is listening; ``stop`` runs the lifespan shutdown.
    """

    def __init__(self, app: Any) -> None:
        self.config = uvicorn.Config(app, host="127.0.0.1", port=0, lifespan="on",
                                     log_level="warning", access_log=False)
        self.server = uvicorn.Server(self.config)
        self._main: asyncio.Task[None] | None = None

    async def start(self) -> str:
        self.config.load()
        self.server.lifespan = self.config.lifespan_class(self.config)
        await self.server.startup()
        self._main = asyncio.create_task(self.server.main_loop())
        port = self.server.servers[0].sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    async def stop(self) -> None:
        """Stop serving and run the lifespan shutdown (once; later calls do nothing)."""
        if self._main is None:
            return
        self.server.should_exit = True
        main, self._main = self._main, None
        await main
        await self.server.shutdown()


_agent_seq = itertools.count(1)


def next_agent_ts() -> str:
    """A ts for a message agents write in Slack. Its seconds part lies before anything the
    stand-in assigns (which counts from the time it started), so it can never be taken for
    the thread's parent."""
    return f"1600000000.{next(_agent_seq):06d}"


@dataclass
class Served:
    """A running server with its stand-ins, and helpers to talk to it like the platforms."""

    telegram: TelegramStandIn
    slack: SlackStandIn
    services: Services
    parts: ServerParts
    http: httpx.AsyncClient
    classifier: FakeClassifier
    server: UvicornServer
    nlu: list[bool | None] = field(default_factory=lambda: [True])

    # Requests as Telegram sends them -------------------------------------------------------
    async def telegram_update(self, update: dict[str, Any] | bytes,
                              secret: str | None = TELEGRAM_SECRET) -> httpx.Response:
        body = update if isinstance(update, bytes) else telegram_api.as_json(update)
        headers = {"Content-Type": "application/json"}
        if secret is not None:
            headers["X-Telegram-Bot-Api-Secret-Token"] = secret
        return await self.http.post("/telegram/webhook", content=body, headers=headers)

    # Requests as Slack sends them ----------------------------------------------------------
    async def slack_post(self, body: str | bytes, content_type: str,
                         secret: str | None = SIGNING_SECRET, timestamp: int | None = None,
                         extra_headers: dict[str, str] | None = None) -> httpx.Response:
        raw = body.encode() if isinstance(body, str) else body
        headers = {"Content-Type": content_type, **(extra_headers or {})}
        if secret is not None:
            headers.update(slack_api.signed_headers(secret, raw, timestamp))
        return await self.http.post("/slack/events", content=raw, headers=headers)

    async def slack_event(self, event: dict[str, Any], event_id: str | None = None,
                          retry_num: int | None = None, **kwargs: Any) -> httpx.Response:
        extra = {"X-Slack-Retry-Num": str(retry_num), "X-Slack-Retry-Reason": "http_timeout"} \
            if retry_num else None
        body = json.dumps(slack_api.event_envelope(event, event_id))
        return await self.slack_post(body, "application/json", extra_headers=extra, **kwargs)

    async def agent_writes(self, thread_ts: str, text: str, event_id: str | None = None,
                           user: str = AGENT, retry_num: int | None = None) -> str:
        """An agent writes ``text`` in the case thread: the message appears in Slack (the
        stand-in's state, so reactions can find it) and Slack sends the event. Returns its ts."""
        event = slack_api.thread_reply_event(SUPPORT, thread_ts, text, user=user,
                                             ts=next_agent_ts())
        self.slack.messages.setdefault(SUPPORT, []).append(
            {"type": "message", "ts": event["ts"], "user": user, "text": text,
             "thread_ts": thread_ts})
        response = await self.slack_event(event, event_id, retry_num)
        assert response.status_code == 200, response.text
        return str(event["ts"])

    async def press_case_button(self, action_id: str, number: str, parent_ts: str,
                                user: str = AGENT) -> httpx.Response:
        form = slack_api.block_action_form(action_id, number, user=user, channel=SUPPORT,
                                           message_ts=parent_ts,
                                           response_url=self.slack.response_url())
        return await self.slack_post(form, "application/x-www-form-urlencoded")

    # Looking at the database ---------------------------------------------------------------
    def scalar(self, stmt: Any) -> Any:
        with self.services.database.sessions() as session:
            return session.scalar(stmt)

    def case_count(self) -> int:
        return int(self.scalar(select(func.count()).select_from(CaseRow)))

    def message_count(self) -> int:
        return int(self.scalar(select(func.count()).select_from(CaseMessageRow)))

    async def wait_inbox_empty(self, timeout: float = WAIT) -> None:
        """Until every acknowledged Slack event was processed (its inbox record deleted)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self.scalar(select(func.count()).select_from(InboxRow)):
            assert loop.time() < deadline, "Slack events still waiting in the inbox"
            await asyncio.sleep(0.05)


@contextlib.asynccontextmanager
async def serving(database: Database, clock: Clock | None = None, slack_slash: bool = True,
                  with_scheduler: bool = False, **settings: Any) -> AsyncIterator[Served]:
    """The whole server on ``database``, its platforms on fresh stand-ins. ``slack_slash``
    False: SLACK_API_BASE_URL is given without its trailing "/", as operators may write it."""
    async with TelegramStandIn() as telegram, SlackStandIn() as slack:
        slack.set_members(SUPPORT, [AGENT])
        slack.add_user(AGENT, "bo", "Bo Agent")
        if not slack_slash:
            settings["slack_api_base_url"] = slack.base_url.rstrip("/")
        services = build_services(serve_settings(database.url, telegram, slack, **settings),
                                  clock=clock, database=database)
        classifier = FakeClassifier(dict(RULES), default=None)
        nlu: list[bool | None] = [True]

        async def nlu_ready() -> bool:
            if nlu[0] is None:
                raise ConnectionError("NLU server not answering")
            return nlu[0]

        parts = build_server(services, classifier, nlu_ready=nlu_ready,
                             with_scheduler=with_scheduler)
        server = UvicornServer(create_app(parts))
        base_url = await server.start()
        try:
            async with httpx.AsyncClient(base_url=base_url, timeout=WAIT) as http:
                yield Served(telegram, slack, services, parts, http, classifier, server, nlu)
        finally:
            await server.stop()


@pytest.fixture
async def served(db: Database) -> AsyncIterator[Served]:
    """The server on SQLite and on PostgreSQL, with the real clock (as `frontdoor serve`)."""
    async with serving(db) as running:
        yield running


# Sellers on Telegram ---------------------------------------------------------------------
_user_ids = iter(range(5_000_001, 6_000_000))


@dataclass
class TelegramSeller:
    """One seller chatting with the bot through the webhook."""

    served: Served
    user_id: int = field(default_factory=lambda: next(_user_ids))
    name: str = "Ada"
    _message_ids: Any = field(default_factory=lambda: iter(range(1, 10_000)))

    @property
    def chat(self) -> str:
        return str(self.user_id)

    async def _send(self, update: dict[str, Any], expect: str | None) -> RecordedRequest | None:
        mark = self.served.telegram.mark()
        response = await self.served.telegram_update(update)
        assert response.status_code == 200, response.text
        if expect is None:
            return None
        try:
            return await self.served.telegram.wait_for(
                "sendMessage", since=mark, timeout=WAIT,
                where=lambda r: r.get("chat_id") == self.chat and expect in r.get("text", ""))
        except AssertionError as err:
            texts = self.served.telegram.sent_texts(self.chat)
            raise AssertionError(f"{err}\nexpected {expect!r}; the bot said: {texts}") from None

    async def say(self, text: str, expect: str | None = None,
                  update_id: int | None = None) -> RecordedRequest | None:
        """Send ``text``; with ``expect``, wait for the bot's answer containing it."""
        update = telegram_api.message_update(text, user_id=self.user_id, first_name=self.name,
                                             message_id=next(self._message_ids),
                                             update_id=update_id)
        return await self._send(update, expect)

    def buttons(self) -> list[dict[str, str]]:
        """The inline buttons of the latest bot message that had any."""
        for request in reversed(self.served.telegram.calls("sendMessage")):
            markup = request.get("reply_markup")
            if request.get("chat_id") == self.chat and markup:
                return [b for row in markup["inline_keyboard"] for b in row]
        return []

    async def press(self, label: str, expect: str | None = None) -> RecordedRequest | None:
        """Press the inline button whose label contains ``label``."""
        found = [b for b in self.buttons() if label.lower() in b["text"].lower()]
        assert found, f"no button {label!r} in {self.buttons()}"
        update = telegram_api.callback_update(found[0]["callback_data"], user_id=self.user_id,
                                              first_name=self.name)
        return await self._send(update, expect)

    async def register(self) -> None:
        """Redeem an invitation the way a seller does: ``/start CODE`` (deep link)."""
        invitation = self.served.services.cases.create_invitation(f"{self.name}'s Shop")
        await self.say(f"/start {invitation.code}", expect="registered as")

    async def open_case(self, text: str) -> OpenedCase:
        """Describe an issue, confirm, and wait for the case's parent and first thread post."""
        slack = self.served.slack
        mark = slack.mark()
        await self.say(text, expect="Open it?")
        sent = await self.press("Open the case", expect="Opened")
        assert sent is not None
        number = _case_number(sent["text"])
        parent = await slack.wait_for(
            "chat.postMessage", since=mark, timeout=WAIT,
            where=lambda r: r.get("channel") == SUPPORT and not r.get("thread_ts")
            and number in r.get("text", ""))
        parent_ts = str(parent.response["ts"])
        # The dispatcher records the parent's ts right after Slack answered; the case's next
        # item (the description, in the thread) goes only after that record is committed.
        # Agents can only answer in a thread that exists, so wait for it too.
        await slack.wait_for("chat.postMessage", since=mark, timeout=WAIT,
                             where=lambda r: r.get("thread_ts") == parent_ts)
        return OpenedCase(number, parent_ts, parent)


@dataclass(frozen=True)
class OpenedCase:
    number: str
    parent_ts: str
    parent: RecordedRequest


def _case_number(text: str) -> str:
    match = re.search(r"CX-\d{6}", text)
    assert match, f"no case number in {text!r}"
    return match.group(0)


async def wait_in_thread(served: Served, parent_ts: str, fragment: str,
                         since: int = 0, count: int = 1) -> RecordedRequest:
    """The ``count``-th post containing ``fragment`` in the thread of ``parent_ts``."""
    return await served.slack.wait_for(
        "chat.postMessage", since=since, count=count, timeout=WAIT,
        where=lambda r: r.get("thread_ts") == parent_ts and fragment in r.get("text", "")
        and r.status == 200)


def posts_in_thread(served: Served, parent_ts: str, fragment: str) -> list[RecordedRequest]:
    return [r for r in served.slack.calls("chat.postMessage")
            if r.get("thread_ts") == parent_ts and fragment in r.get("text", "")]


def _first(served: Served, fragment: str) -> int:
    """Index of the first Telegram sendMessage containing ``fragment``."""
    return next(int(r.index) for r in served.telegram.calls("sendMessage")
                if fragment in r.get("text", ""))


def sent_to(served: Served, seller: TelegramSeller, fragment: str) -> list[RecordedRequest]:
    return [r for r in served.telegram.calls("sendMessage")
            if r.get("chat_id") == seller.chat and fragment in r.get("text", "")]


@pytest.fixture
async def seller(served: Served) -> TelegramSeller:
    s = TelegramSeller(served)
    await s.register()
    return s


@pytest.fixture
async def case(seller: TelegramSeller) -> OpenedCase:
    return await seller.open_case(
        f"my order {ORDER} never arrived, the buyer is waiting since Monday")


# The tests ----------------------------------------------------------------------------------
async def test_telegram_message_opens_a_case_with_parent_and_thread(
        served: Served, seller: TelegramSeller) -> None:
    opened = await seller.open_case(
        f"my order {ORDER} never arrived, the buyer is waiting since Monday")

    card = opened.parent
    assert opened.number in card["text"]
    action_ids = [e["action_id"] for b in card["blocks"] if b["type"] == "actions"
                  for e in b["elements"]]
    assert "case_status:investigating" in action_ids and "case_urgent:on" in action_ids
    first = await wait_in_thread(served, opened.parent_ts, "never arrived")
    assert first["channel"] == SUPPORT
    detail = served.services.cases.get_case(opened.number)
    assert detail.case.case_type == "shipping" and detail.case.order_id == ORDER
    assert detail.agents_thread is not None
    assert (detail.agents_thread.channel, detail.agents_thread.parent_message_id) == (
        SUPPORT, opened.parent_ts)
    assert served.case_count() == 1


def _status_field(request: RecordedRequest) -> str:
    fields = [f["text"] for b in request["blocks"] if b["type"] == "section"
              for f in b.get("fields", [])]
    return str(next(f for f in fields if f.startswith("*Status*")))


async def test_agent_reply_reaches_the_seller_and_gets_a_reaction(
        served: Served, seller: TelegramSeller, case: OpenedCase) -> None:
    mark = served.slack.mark()
    agent_ts = await served.agent_writes(case.parent_ts, "We asked the carrier; news by Friday.")

    sent = await served.telegram.wait_for(
        "sendMessage", timeout=WAIT,
        where=lambda r: "We asked the carrier" in r.get("text", ""))
    assert sent["chat_id"] == seller.chat
    assert sent["text"].startswith(f"💬 {case.number}:")
    reaction = await served.slack.wait_for("reactions.add", since=mark, timeout=WAIT)
    assert reaction.params == {"channel": SUPPORT, "timestamp": agent_ts,
                               "name": "white_check_mark"}
    # The first response was stamped: the parent is updated in place (no deadline any more).
    update = await served.slack.wait_for("chat.update", since=mark, timeout=WAIT)
    assert (update["channel"], update["ts"]) == (SUPPORT, case.parent_ts)
    assert served.services.cases.get_case(case.number).case.first_response_at is not None
    # The agent's own message is not echoed into the thread by the bot.
    assert posts_in_thread(served, case.parent_ts, "We asked the carrier") == []


async def test_internal_note_does_not_reach_the_seller(
        served: Served, seller: TelegramSeller, case: OpenedCase) -> None:
    await served.agent_writes(case.parent_ts, "note: carrier says it was delivered to a locker")
    reply_ts = await served.agent_writes(case.parent_ts,
                                         "Could you check the parcel locker nearby?")

    # Replies to one chat go out in order, so the note would have come first.
    await served.telegram.wait_for("sendMessage", timeout=WAIT,
                                   where=lambda r: "parcel locker nearby" in r.get("text", ""))
    assert sent_to(served, seller, "delivered to a locker") == []
    messages = served.services.cases.get_case(case.number).messages
    note = next(m for m in messages if "locker" in m.text and m.internal)
    assert note.text == "carrier says it was delivered to a locker"
    # Only the real reply is marked as delivered (the marks, too, go out in thread order).
    marked = await served.slack.wait_for("reactions.add", timeout=WAIT)
    assert marked["timestamp"] == reply_ts
    assert len(served.slack.calls("reactions.add")) == 1


async def test_buttons_change_the_status_and_update_the_parent(
        served: Served, seller: TelegramSeller, case: OpenedCase) -> None:
    mark = served.slack.mark()
    response = await served.press_case_button("case_status:investigating", case.number,
                                              case.parent_ts)

    assert response.status_code == 200
    assert served.services.cases.get_case(case.number).case.status == d.INVESTIGATING
    update = await served.slack.wait_for("chat.update", since=mark, timeout=WAIT)
    assert (update["channel"], update["ts"]) == (SUPPORT, case.parent_ts)
    assert "`investigating`" in _status_field(update)
    await wait_in_thread(served, case.parent_ts, "In progress", since=mark)
    await served.telegram.wait_for("sendMessage", timeout=WAIT,
                                   where=lambda r: "being looked at" in r.get("text", ""))

    mark = served.slack.mark()
    await served.press_case_button("case_urgent:on", case.number, case.parent_ts)
    update = await served.slack.wait_for("chat.update", since=mark, timeout=WAIT)
    assert update["text"].endswith("URGENT")
    assert served.services.cases.get_case(case.number).case.urgent
    stored = served.slack.find(SUPPORT, case.parent_ts)
    assert stored is not None and len(served.slack.messages[SUPPORT]) >= 1
    assert [m["ts"] for m in served.slack.messages[SUPPORT] if not m.get("thread_ts")] == [
        case.parent_ts]  # updated in place, never posted again


async def test_only_channel_members_may_press_buttons(
        served: Served, case: OpenedCase) -> None:
    mark = served.slack.mark()
    response = await served.press_case_button("case_status:resolved", case.number,
                                              case.parent_ts, user="U0OUTSIDER")

    assert response.status_code == 200
    refusal = await served.slack.wait_for("chat.postEphemeral", since=mark, timeout=WAIT)
    assert refusal["user"] == "U0OUTSIDER" and "Only support agents" in refusal["text"]
    assert served.services.cases.get_case(case.number).case.status == d.OPEN


async def test_slack_retry_of_an_event_is_processed_once(
        served: Served, seller: TelegramSeller, case: OpenedCase) -> None:
    event = slack_api.thread_reply_event(SUPPORT, case.parent_ts, "The refund is on its way.",
                                         ts=next_agent_ts())
    first = await served.slack_event(event, "EvRETRY0001")
    again = await served.slack_event(event, "EvRETRY0001", retry_num=1)
    assert (first.status_code, again.status_code) == (200, 200)
    await served.agent_writes(case.parent_ts, "Marker after the retry.")

    await served.telegram.wait_for("sendMessage", timeout=WAIT,
                                   where=lambda r: "Marker after the retry" in r.get("text", ""))
    assert len(sent_to(served, seller, "refund is on its way")) == 1
    replies = [m for m in served.services.cases.get_case(case.number).messages
               if m.author_kind == d.AGENT]
    assert [m.text for m in replies] == ["The refund is on its way.", "Marker after the retry."]


async def test_telegram_replay_of_an_update_is_processed_once(
        served: Served, seller: TelegramSeller, case: OpenedCase) -> None:
    await wait_in_thread(served, case.parent_ts, "never arrived")
    update = telegram_api.message_update("The delivery tracking still shows Leipzig.",
                                         user_id=seller.user_id, message_id=900,
                                         update_id=777_001)
    first = await served.telegram_update(update)
    replay = await served.telegram_update(update)
    assert (first.status_code, replay.status_code) == (200, 200)
    # Markers: the seller's chat and the case thread each keep their order, so a second
    # processing of the update would have shown up before these.
    await seller.say("any update?", expect="In progress")
    await seller.say("Also the delivery slip is missing.")
    await wait_in_thread(served, case.parent_ts, "delivery slip is missing")

    assert len(posts_in_thread(served, case.parent_ts, "still shows Leipzig")) == 1
    acks = [r["text"] for r in served.telegram.calls("sendMessage")
            if r.get("chat_id") == seller.chat and r.index < _first(served, "In progress")]
    assert len([t for t in acks if "Added to" in t]) == 1
    assert served.scalar(select(func.count()).select_from(ProcessedEventRow).where(
        ProcessedEventRow.event_id == "telegram:777001")) == 1


async def test_slack_429_and_500s_are_retried_and_the_post_arrives_once(
        served: Served, seller: TelegramSeller, case: OpenedCase) -> None:
    await wait_in_thread(served, case.parent_ts, "never arrived")  # nothing else in flight
    mark = served.slack.mark()
    served.slack.fail_next("chat.postMessage", slack_api.rate_limited(1))
    served.slack.fail_next("chat.postMessage", slack_api.server_error(500))
    served.slack.fail_next("chat.postMessage", slack_api.server_error(503))

    await seller.say("The delivery tracking still shows Leipzig.", expect="Added to")

    posted = await wait_in_thread(served, case.parent_ts, "still shows Leipzig", since=mark)
    attempts = [r for r in served.slack.calls("chat.postMessage") if r.index >= mark]
    assert [r.status for r in attempts] == [429, 500, 503, 200]
    assert attempts[1].received_at - attempts[0].received_at >= 0.95  # Retry-After: 1
    # Order per thread: a later post arrives after it, and the first went out only once.
    await seller.say("One more detail: the buyer is in Berlin.", expect="Added to")
    await wait_in_thread(served, case.parent_ts, "buyer is in Berlin", since=posted.index)
    assert len([r for r in posts_in_thread(served, case.parent_ts, "still shows Leipzig")
                if r.status == 200]) == 1
    # The stand-in answers before the dispatcher records the delivery: wait for the record.
    pending = select(func.count()).select_from(OutboxRow).where(
        OutboxRow.status == "pending", OutboxRow.destination == "slack",
        OutboxRow.kind == "agents.thread_post")
    deadline = asyncio.get_running_loop().time() + WAIT
    while served.scalar(pending) and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.05)
    assert served.scalar(pending) == 0


async def test_telegram_flood_wait_is_honoured_and_the_reply_arrives_once(
        served: Served, seller: TelegramSeller, case: OpenedCase) -> None:
    served.telegram.fail_next("sendMessage", telegram_api.flood_wait(1))
    await served.agent_writes(case.parent_ts, "Please send a photo of the label.")

    sent = await served.telegram.wait_for(
        "sendMessage", timeout=WAIT,
        where=lambda r: "photo of the label" in r.get("text", "") and r.status == 200)
    limited = [r for r in served.telegram.calls("sendMessage") if r.status == 429]
    assert len(limited) == 1 and sent.received_at - limited[0].received_at >= 0.95
    await served.agent_writes(case.parent_ts, "Marker after the flood wait.")
    await served.telegram.wait_for("sendMessage", timeout=WAIT,
                                   where=lambda r: "Marker after" in r.get("text", ""))
    assert len([r for r in sent_to(served, seller, "photo of the label")
                if r.status == 200]) == 1


async def test_telegram_403_is_reported_in_the_thread_and_not_retried(
        served: Served, seller: TelegramSeller, case: OpenedCase) -> None:
    served.telegram.block_chat(seller.chat)
    mark = served.slack.mark()
    await served.agent_writes(case.parent_ts, "We need the invoice, please.")

    warning = await wait_in_thread(served, case.parent_ts, "no longer accepts messages",
                                   since=mark)
    assert "bot was blocked by the user" in warning["text"]
    await served.agent_writes(case.parent_ts, "Are you still there?")
    await wait_in_thread(served, case.parent_ts, "Not delivered to the seller", since=mark)

    refused = sent_to(served, seller, "invoice")
    assert [r.status for r in refused] == [403]  # tried once, never again
    assert sent_to(served, seller, "still there") == []  # the blocked chat is not tried
    assert served.scalar(select(func.count()).select_from(OutboxRow).where(
        OutboxRow.status == "pending", OutboxRow.destination == "telegram")) == 0
    assert served.slack.calls("reactions.add") == []  # nothing was delivered


async def test_second_message_about_the_same_order_lands_in_the_existing_thread(
        served: Served, seller: TelegramSeller, case: OpenedCase) -> None:
    mark = served.slack.mark()
    await seller.say(f"Order {ORDER} still missing today, the buyer wants a refund",
                     expect=f"Added to {case.number}")

    await wait_in_thread(served, case.parent_ts, "buyer wants a refund", since=mark)
    assert served.case_count() == 1
    parents = [r for r in served.slack.calls("chat.postMessage")
               if r.get("channel") == SUPPORT and not r.get("thread_ts")]
    assert len(parents) == 1


async def test_reply_to_a_relayed_agent_message_goes_to_that_case(
        served: Served, seller: TelegramSeller, case: OpenedCase) -> None:
    await served.agent_writes(case.parent_ts, "Which carrier did you use?")
    relayed = await served.telegram.wait_for(
        "sendMessage", timeout=WAIT, where=lambda r: "Which carrier" in r.get("text", ""))
    message_id = relayed.response["result"]["message_id"]
    mark = served.slack.mark()

    update = telegram_api.message_update("DHL Express", user_id=seller.user_id,
                                         message_id=950, reply_to_message_id=message_id)
    assert (await served.telegram_update(update)).status_code == 200

    await wait_in_thread(served, case.parent_ts, "DHL Express", since=mark)
    assert served.case_count() == 1


async def test_same_issue_a_day_later_is_added_to_the_existing_case(db: Database) -> None:
    clock = ManualClock(datetime.now(UTC))  # the dispatcher's retries are not exercised here
    async with serving(db, clock=clock) as served:
        seller = TelegramSeller(served)
        await seller.register()
        case = await seller.open_case(
            f"my order {ORDER} never arrived, the buyer is waiting since Monday")
        clock.advance(hours=30)  # a new conversation: the duplicate check (rule 1) applies
        mark = served.slack.mark()

        await seller.say(f"the delivery for {ORDER} is still missing today",
                         expect="already have a case on this issue")
        await seller.press(f"Add to {case.number}", expect=f"Added to {case.number}")

        await wait_in_thread(served, case.parent_ts, "still missing today", since=mark)
        assert served.case_count() == 1


async def test_agent_edit_is_relayed_as_an_edit_and_bots_are_not_echoed(
        served: Served, seller: TelegramSeller, case: OpenedCase) -> None:
    agent_ts = await served.agent_writes(case.parent_ts, "Your refund is 12 EUR.")
    sent = await served.telegram.wait_for(
        "sendMessage", timeout=WAIT, where=lambda r: "refund is 12 EUR" in r.get("text", ""))

    edited = {"type": "message", "subtype": "message_changed", "channel": SUPPORT,
              "channel_type": "channel", "hidden": True,
              "message": {"type": "message", "user": AGENT, "text": "Your refund is 21 EUR.",
                          "ts": agent_ts, "thread_ts": case.parent_ts},
              "previous_message": {"type": "message", "user": AGENT, "ts": agent_ts,
                                   "text": "Your refund is 12 EUR."}}
    assert (await served.slack_event(edited)).status_code == 200
    bot_post = {"type": "message", "subtype": "bot_message", "channel": SUPPORT,
                "channel_type": "channel", "bot_id": slack_api.BOT_ID, "text": "Echo me?",
                "ts": "1999999999.000001", "thread_ts": case.parent_ts}
    assert (await served.slack_event(bot_post)).status_code == 200

    edit = await served.telegram.wait_for("editMessageText", timeout=WAIT)
    assert edit["message_id"] == str(sent.response["result"]["message_id"])
    assert edit["text"] == f"💬 {case.number}: Your refund is 21 EUR."
    await served.agent_writes(case.parent_ts, "Marker after the bot post.")
    await served.telegram.wait_for("sendMessage", timeout=WAIT,
                                   where=lambda r: "Marker after the bot" in r.get("text", ""))
    assert sent_to(served, seller, "Echo me") == []


def _decline_submission(number: str, reason: str) -> str:
    payload = {
        "type": "view_submission", "team": {"id": slack_api.TEAM_ID},
        "user": {"id": AGENT, "team_id": slack_api.TEAM_ID}, "api_app_id": "A0STANDIN",
        "trigger_id": "1.2.3",
        "view": {"id": "V0DECLINE", "type": "modal", "callback_id": "decline_reason",
                 "private_metadata": number, "team_id": slack_api.TEAM_ID,
                 "state": {"values": {"reason": {"reason": {
                     "type": "plain_text_input", "value": reason}}}}},
    }
    return urlencode({"payload": json.dumps(payload)})


async def test_decline_with_a_reason_from_the_modal(
        served: Served, seller: TelegramSeller, case: OpenedCase) -> None:
    form = "application/x-www-form-urlencoded"
    too_short = await served.slack_post(_decline_submission(case.number, "no"), form)
    assert too_short.json() == {"response_action": "errors",
                                "errors": {"reason": "Tell the seller why, in a sentence."}}
    assert served.services.cases.get_case(case.number).case.status == d.OPEN

    mark = served.slack.mark()
    done = await served.slack_post(
        _decline_submission(case.number, "The carrier confirmed delivery to the buyer."), form)

    assert done.status_code == 200
    assert served.services.cases.get_case(case.number).case.status == d.DECLINED
    await served.telegram.wait_for(
        "sendMessage", timeout=WAIT, where=lambda r: r.get("chat_id") == seller.chat
        and "carrier confirmed delivery" in r.get("text", ""))
    update = await served.slack.wait_for("chat.update", since=mark, timeout=WAIT)
    assert "`declined`" in _status_field(update)
    assert all(b["type"] != "actions" for b in update["blocks"])  # final: no buttons left


async def test_decline_button_opens_the_reason_form(
        served: Served, seller: TelegramSeller, case: OpenedCase) -> None:
    response = await served.press_case_button("case_status:declined", case.number,
                                              case.parent_ts)
    assert response.status_code == 200
    opened = await served.slack.wait_for("views.open", timeout=WAIT)
    view = opened["view"] if isinstance(opened["view"], dict) else json.loads(opened["view"])
    assert view["callback_id"] == "decline_reason" and view["private_metadata"] == case.number
    # Nothing is declined until the agent gives the reason.
    assert served.services.cases.get_case(case.number).case.status == d.OPEN


async def test_decline_form_from_a_non_agent_is_refused(
        served: Served, seller: TelegramSeller, case: OpenedCase) -> None:
    payload = json.loads(dict(parse_qsl(_decline_submission(
        case.number, "Somebody else deciding this.")))["payload"])
    payload["user"]["id"] = "U0STRANGER"
    response = await served.slack_post(urlencode({"payload": json.dumps(payload)}),
                                       "application/x-www-form-urlencoded")
    assert response.status_code == 200
    assert response.json()["response_action"] == "errors"
    assert served.services.cases.get_case(case.number).case.status == d.OPEN


async def test_decline_of_a_closed_case_keeps_the_form_open_with_the_reason(
        served: Served, seller: TelegramSeller, case: OpenedCase) -> None:
    served.services.cases.change_status(case.number, "closed")
    response = await served.slack_post(_decline_submission(case.number, "Too late to decline."),
                                       "application/x-www-form-urlencoded")
    assert response.status_code == 200
    body = response.json()
    assert body["response_action"] == "errors"
    assert body["errors"]["reason"].startswith("Not declined:")
    assert "closed" in body["errors"]["reason"]
    assert served.services.cases.get_case(case.number).case.status == d.CLOSED


async def test_telegram_commands_through_the_webhook(
        served: Served, seller: TelegramSeller, case: OpenedCase) -> None:
    await seller.say("/help", expect="Commands: /new, /cases")
    listed = await seller.say("/cases", expect=case.number)
    assert listed is not None and "Your active cases (1)" in listed["text"]
    shown = await seller.say(f"/case {case.number.lower()}", expect=case.number)
    assert shown is not None and "In progress" in shown["text"]
    await seller.say("/case CX-999999", expect="CX-999999")
    await seller.say("/new", expect="What is the new case about?")
    assert any(b["text"] == "Something else" for b in seller.buttons())
    # A pressed button's callback query is answered (the spinner on the button stops).
    mark = served.telegram.mark()
    await seller.press("Shipping", expect="Shipping")
    answered = await served.telegram.wait_for("answerCallbackQuery", since=mark, timeout=WAIT)
    assert answered.status == 200


async def test_webhook_is_registered_with_its_secret_on_start(sqlite_db: Database) -> None:
    async with serving(sqlite_db,
                       telegram_webhook_url="https://support.example/telegram/webhook") as served:
        registered = await served.telegram.wait_for("setWebhook", timeout=WAIT)
        assert registered["url"] == "https://support.example/telegram/webhook"
        assert registered["secret_token"] == TELEGRAM_SECRET


async def test_seller_in_a_slack_dm_registers_and_opens_a_case(served: Served) -> None:
    """Sellers may DM the Slack app: same engine, replies in the DM, buttons as Block Kit."""
    code = served.services.cases.create_invitation("Slack Seller").code
    dm, user = "D0SELLER1", "U0SELLER1"

    def dm_event(text: str, n: int) -> dict[str, Any]:
        return {"type": "message", "channel": dm, "channel_type": "im", "user": user,
                "text": text, "ts": f"1800000000.{n:06d}"}

    mark = served.slack.mark()
    assert (await served.slack_event(dm_event(code, 1), "EvDm1")).status_code == 200
    await served.slack.wait_for("chat.postMessage", since=mark, timeout=WAIT,
                                where=lambda r: r.get("channel") == dm)
    mark = served.slack.mark()
    text = f"my order {ORDER} never arrived, the buyer is waiting since Monday"
    assert (await served.slack_event(dm_event(text, 2), "EvDm2")).status_code == 200
    try:
        offer = await served.slack.wait_for(
            "chat.postMessage", since=mark, timeout=WAIT,
            where=lambda r: r.get("channel") == dm and "Open it?" in r.get("text", ""))
    except AssertionError:
        raise AssertionError([r.get("text") for r in served.slack.calls("chat.postMessage")]) from None
    blocks = offer.response["message"]["blocks"]
    buttons = [e for b in blocks if b["type"] == "actions" for e in b["elements"]]
    open_button = next(b for b in buttons if "Open the case" in b["text"]["text"])
    assert open_button["action_id"] == "seller_button"

    mark = served.slack.mark()
    form = urlencode({"payload": json.dumps({
        "type": "block_actions", "team": {"id": slack_api.TEAM_ID}, "api_app_id": "A0STANDIN",
        "user": {"id": user, "team_id": slack_api.TEAM_ID}, "trigger_id": "9.9.9",
        "channel": {"id": dm}, "container": {"type": "message", "channel_id": dm},
        "actions": [{"type": "button", "action_id": "seller_button", "block_id": "b1",
                     "value": open_button["value"], "action_ts": "1800000000.5"}]})})
    pressed = await served.slack_post(form, "application/x-www-form-urlencoded")
    assert pressed.status_code == 200, pressed.text
    await served.slack.wait_for("chat.postMessage", since=mark, timeout=WAIT,
                                where=lambda r: r.get("channel") == dm
                                and "CX-000001" in r.get("text", ""))
    parent = await served.slack.wait_for(
        "chat.postMessage", timeout=WAIT,
        where=lambda r: r.get("channel") == SUPPORT and not r.get("thread_ts"))
    assert "CX-000001" in parent["text"]
    assert served.case_count() == 1
