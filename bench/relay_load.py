"""The relay benchmark's load: this process plays Telegram, Slack and the users. Simulated
sellers in closed loops over webhooks (conversations), agents' thread replies one at a time
(relay latency), and the same-run baselines; what they measure goes into a `Result`."""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import statistics
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx

from bench.relay_server import AGENT, SIGNING_SECRET, SUPPORT, TELEGRAM_SECRET, TELEGRAM_TOKEN, ServeProcess
from bench.relay_sizes import Sizes
from bench.report import percentile
from tests.standins import slack_api, telegram_api
from tests.standins.slack_api import SlackStandIn
from tests.standins.telegram_api import TelegramStandIn

ORDER = "123-1234567-1234567"
WAIT = 60.0  # per awaited reply; a stuck run fails instead of hanging


@dataclass
class Result:
    backend: str
    healthz_rps: float = 0.0
    healthz_p50_ms: float = 0.0
    standin_p50_ms: float = 0.0
    standin_p99_ms: float = 0.0
    messages: int = 0
    conv_seconds: float = 0.0
    turn_ms: list[float] = field(default_factory=list)
    server_cpu_per_msg_ms: float = 0.0
    relay_ms: list[float] = field(default_factory=list)
    ack_ms: list[float] = field(default_factory=list)
    redeliveries: int = 0

    @property
    def msgs_per_s(self) -> float:
        return self.messages / self.conv_seconds if self.conv_seconds else 0.0


class Platforms:
    """This process's side: the stand-ins (each in its own thread) and HTTP clients."""

    def __init__(self, telegram: TelegramStandIn, slack: SlackStandIn, url: str,
                 http: httpx.AsyncClient, webhook_http: httpx.AsyncClient) -> None:
        self.telegram = telegram
        self.slack = slack
        self.url = url
        self.http = http
        self.webhook_http = webhook_http
        self.redeliveries = 0

    async def webhook(self, update: dict[str, Any]) -> None:
        """Deliver an update like Telegram: at most 40 connections at once (its default
        ``max_connections``), and a failed delivery is delivered again."""
        for attempt in range(3):
            try:
                response = await self.webhook_http.post(
                    f"{self.url}/telegram/webhook", content=telegram_api.as_json(update),
                    headers={"Content-Type": "application/json",
                             "X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET})
            except httpx.TransportError:
                # e.g. a kept-alive connection the server closed just then; redeliver (the
                # server processes an update_id once).
                self.redeliveries += 1
                if attempt == 2:
                    raise
                continue
            if response.status_code != 200:
                raise RuntimeError(f"webhook answered {response.status_code}: {response.text}")
            return

    async def reply_for(self, chat: str, fragment: str, since: int) -> float:
        """When (monotonic) the bot's message to ``chat`` containing ``fragment`` arrived."""
        request = await self.telegram.wait_for(
            "sendMessage", since=since, timeout=WAIT,
            where=lambda r: r.get("chat_id") == chat and fragment in r.get("text", ""))
        return request.received_at


_user_ids = itertools.count(8_000_001)


@dataclass
class SimSeller:
    """One simulated seller: a closed loop of message, answer, next message."""

    platforms: Platforms
    code: str
    user_id: int = field(default_factory=lambda: next(_user_ids))
    number: str = ""
    turns: list[float] = field(default_factory=list)
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    @property
    def chat(self) -> str:
        return str(self.user_id)

    async def turn(self, update: dict[str, Any], fragment: str) -> None:
        mark = self.platforms.telegram.mark()
        started = time.monotonic()
        await self.platforms.webhook(update)
        answered = await self.platforms.reply_for(self.chat, fragment, mark)
        self.turns.append((answered - started) * 1000)

    async def say(self, text: str, fragment: str) -> None:
        await self.turn(telegram_api.message_update(text, user_id=self.user_id,
                                                    message_id=next(self._ids)), fragment)

    async def press(self, label: str, fragment: str) -> None:
        data = next(b["callback_data"] for r in reversed(self.platforms.telegram.calls("sendMessage"))
                    if r.get("chat_id") == self.chat and r.get("reply_markup")
                    for row in r["reply_markup"]["inline_keyboard"] for b in row
                    if label in b["text"])
        await self.turn(telegram_api.callback_update(data, user_id=self.user_id), fragment)

    async def converse(self, followups: int) -> None:
        await self.say(f"/start {self.code}", "registered as")
        await self.say(f"my order {ORDER} never arrived, the buyer is waiting since Monday",
                       "Open it?")
        await self.press("Open the case", "Opened")
        opened = next(r["text"] for r in self.platforms.telegram.calls("sendMessage")
                      if r.get("chat_id") == self.chat and "Opened" in r.get("text", ""))
        self.number = re.search(r"CX-\d{6}", opened).group(0)  # type: ignore[union-attr]
        for i in range(followups):
            await self.say(f"More detail {i}: the courier's page shows the parcel in a depot.",
                           "Added to")


async def measure_baselines(p: Platforms, sizes: Sizes, result: Result) -> None:
    # /healthz through the same server at the conversations' concurrency: as many clients
    # in closed loops as sellers, over the same (at most 40) webhook connections.
    latencies: list[float] = []
    per_client = max(1, sizes.healthz // sizes.sellers)

    async def client() -> None:
        for _ in range(per_client):
            t0 = time.perf_counter()
            response = await p.webhook_http.get(f"{p.url}/healthz")
            latencies.append((time.perf_counter() - t0) * 1000)
            response.raise_for_status()

    t0 = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(sizes.sellers)))
    result.healthz_rps = len(latencies) / (time.perf_counter() - t0)
    result.healthz_p50_ms = statistics.median(latencies)
    # A bare Bot API round trip to the stand-in: the platform's share of every relay.
    trips: list[float] = []
    url = f"{p.telegram.base_url}{TELEGRAM_TOKEN}/sendMessage"
    for i in range(sizes.roundtrips):
        t0 = time.perf_counter()
        response = await p.http.post(url, data={"chat_id": "1", "text": f"baseline {i}"})
        trips.append((time.perf_counter() - t0) * 1000)
        response.raise_for_status()
    result.standin_p50_ms = percentile(trips, 50)
    result.standin_p99_ms = percentile(trips, 99)


async def run_conversations(p: Platforms, codes: list[str], sizes: Sizes, result: Result,
                            server: ServeProcess) -> list[SimSeller]:
    sellers = [SimSeller(p, code) for code in codes]
    expected_thread_posts = len(sellers) * (1 + sizes.followups)
    slack_mark = p.slack.mark()
    cpu0, t0 = server.cpu_seconds(), time.monotonic()
    await asyncio.gather(*(s.converse(sizes.followups) for s in sellers))
    # Every seller message also reaches its case's Slack thread: wait for all of them.
    await p.slack.wait_for("chat.postMessage", since=slack_mark, count=expected_thread_posts,
                           timeout=WAIT, where=lambda r: bool(r.get("thread_ts"))
                           and ("never arrived" in r.get("text", "")
                                or "More detail" in r.get("text", "")))
    result.conv_seconds = time.monotonic() - t0
    result.messages = sum(len(s.turns) for s in sellers)
    result.server_cpu_per_msg_ms = (server.cpu_seconds() - cpu0) / result.messages * 1000
    result.turn_ms = [t for s in sellers for t in s.turns]
    return sellers


async def measure_relay_latency(p: Platforms, sellers: list[SimSeller], sizes: Sizes,
                                result: Result) -> None:
    parents = {m["text"].split()[0]: m["ts"] for m in p.slack.messages.get(SUPPORT, [])
               if not m.get("thread_ts")}
    targets = [(s, parents[s.number]) for s in sellers]
    for i in range(sizes.replies):
        seller, parent_ts = targets[i % len(targets)]
        token = f"relay-{i:05d}"
        # The agent's message ts: before the stand-in's (which start at its start time), so it
        # never equals a parent's ts (that would read as the parent, not a reply).
        event = slack_api.thread_reply_event(SUPPORT, parent_ts, f"Agent answer {token}",
                                             user=AGENT, ts=f"1600000000.{i + 1:06d}")
        p.slack.messages[SUPPORT].append({"type": "message", "ts": event["ts"], "user": AGENT,
                                          "text": event["text"], "thread_ts": parent_ts})
        body = json.dumps(slack_api.event_envelope(event)).encode()
        mark = p.telegram.mark()
        t0 = time.monotonic()
        response = await p.http.post(
            f"{p.url}/slack/events", content=body,
            headers={"Content-Type": "application/json",
                     **slack_api.signed_headers(SIGNING_SECRET, body)})
        result.ack_ms.append((time.monotonic() - t0) * 1000)
        if response.status_code != 200:
            raise RuntimeError(f"/slack/events answered {response.status_code}")
        arrived = await p.reply_for(seller.chat, token, mark)
        result.relay_ms.append((arrived - t0) * 1000)
