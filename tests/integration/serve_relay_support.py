"""The `frontdoor serve` relay harness shared by the serve tests: the real server app
(create_app(build_server(...))) under a real uvicorn on 127.0.0.1, the real python-telegram-bot
and slack-bolt/slack_sdk code, and the stand-in Bot API and Web API servers. Sellers talk through
/telegram/webhook, agents through signed /slack/events requests; what reaches the platforms is
read from the stand-ins. Holds the settings, the server (``serving`` and the ``served``,
``seller`` and ``case`` fixtures), the Telegram seller and the thread helpers.

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
from typing import Any

import httpx
import pytest
import uvicorn
from sqlalchemy import func, select

from bot.clock import Clock
from frontdoor.serve_app import build_server
from frontdoor.server import ServerParts, create_app
from frontdoor.settings import Settings
from frontdoor.wiring import Services, build_services
from storage.database import Database
from storage.models import CaseMessageRow, CaseRow, InboxRow
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


def sent_to(served: Served, seller: TelegramSeller, fragment: str) -> list[RecordedRequest]:
    return [r for r in served.telegram.calls("sendMessage")
            if r.get("chat_id") == seller.chat and fragment in r.get("text", "")]


def _status_field(request: RecordedRequest) -> str:
    fields = [f["text"] for b in request["blocks"] if b["type"] == "section"
              for f in b.get("fields", [])]
    return str(next(f for f in fields if f.startswith("*Status*")))


@pytest.fixture
async def seller(served: Served) -> TelegramSeller:
    s = TelegramSeller(served)
    await s.register()
    return s


@pytest.fixture
async def case(seller: TelegramSeller) -> OpenedCase:
    return await seller.open_case(
        f"my order {ORDER} never arrived, the buyer is waiting since Monday")
