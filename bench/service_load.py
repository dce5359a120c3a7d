"""The traffic of the whole-service load test (`bench.bench_service`): simulated sellers on
Telegram and agents in Slack, driven only through the server's HTTP endpoints, and what they
measured.

* a **seller** is a closed loop on ``/telegram/webhook``: describe an issue (typed), press "Open
  the case" (button), then typed follow-ups to that case until the time is up; each message
  waits for the bot's answer at the Telegram stand-in before the next is sent;
* an **agent** replies in a random open case's thread with a signed ``/slack/events`` request
  about every ``agent_every`` seconds (2 by default), and each reply is timed until it reaches the
  seller (``sendMessage`` at the Telegram stand-in). The agents are an open loop: the next
  reply does not wait for the last to arrive, so the agents' load is the same however fast
  the service answers them, and two ways of serving can be compared at the same load;
* a **probe** times a bare round trip to the Telegram stand-in now and then, under the same
  load (the platform's share of an agent reply's trip).

Webhook deliveries go round-robin over the serve processes (a load balancer), at most
``webhook_connections`` at once (Telegram's ``max_connections``, 40 by default).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import random
import re
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx

from bench.service_stages import AgentTrip
from tests.standins import slack_api, telegram_api
from tests.standins.slack_api import SlackStandIn
from tests.standins.telegram_api import TelegramStandIn

SUPPORT = "C0SUPPORT"
AGENT = "U0AGENT01"
ANSWER_WAIT = 30.0  # an answer later than this is an error, not a latency
AGENT_REPLY_EVERY_SECONDS = 2.0
PROBE_EVERY_SECONDS = 0.2
# Follow-ups name their case, so they are added to it whatever the model reads (the same
# texts the fault tests check against the real model).
FOLLOW_UPS = (
    "More details for {number}: the buyer sent me a photo of the torn box, reference {token}",
    "For {number} I attach the receipt from the drop-off point, reference {token}",
    "About {number}: the neighbour did not receive the parcel either, reference {token}",
)
ISSUE = "my order {order} never arrived, the buyer is waiting since Monday"


@dataclass
class Measured:
    """What one load run saw."""

    typed_ms: list[float] = field(default_factory=list)  # typed message -> answer
    typed_answered_in_window: int = 0
    button_ms: list[float] = field(default_factory=list)
    agent_ms: list[float] = field(default_factory=list)  # agent reply POST -> seller
    agent_ack_ms: list[float] = field(default_factory=list)  # /slack/events answered
    probe_ms: list[float] = field(default_factory=list)  # bare stand-in round trip, under load
    agent_trips: list[AgentTrip] = field(default_factory=list)  # for the stage breakdown
    errors: Counter[str] = field(default_factory=Counter)
    window_seconds: float = 0.0
    cases_opened: int = 0


_ids = itertools.count(1)


class Load:
    """One run's sellers, agents and probe against ``endpoints`` for ``seconds``."""

    def __init__(self, endpoints: list[str], telegram: TelegramStandIn, slack: SlackStandIn,
                 users: list[int], telegram_secret: str, signing_secret: str, seconds: float,
                 agents: int, webhook_connections: int, seed: int = 1,
                 agent_every: float = AGENT_REPLY_EVERY_SECONDS) -> None:
        self.endpoints = endpoints
        self.telegram = telegram
        self.slack = slack
        self.users = users
        self.telegram_secret = telegram_secret
        self.signing_secret = signing_secret
        self.seconds = seconds
        self.agents = agents
        self.webhook_connections = webhook_connections
        self.agent_every = agent_every
        self.random = random.Random(seed)
        self.measured = Measured()
        self.cases: dict[int, str] = {}  # user -> case number
        self._next_endpoint = itertools.count()
        self._deadline = 0.0
        self._started = 0.0
        self._missing: list[tuple[str, str, int]] = []  # answers not seen in ANSWER_WAIT
        self._agent_waits: set[asyncio.Future[None]] = set()  # agent replies on their way

    def _classify_missing(self) -> None:
        """Each answer not seen in time: late (it came after all), or never (with what the
        bot said instead, so an error can be told from a slow answer)."""
        sent = self.telegram.calls("sendMessage")
        for chat, fragment, since in self._missing:
            mine = [r.get("text", "") for r in sent
                    if r.index >= since and r.get("chat_id") == chat]
            if any(fragment in text for text in mine):
                self.measured.errors[f"answer later than {ANSWER_WAIT:.0f} s"] += 1
            else:
                said = (mine[0][:60] + "…") if mine else "nothing"
                self.measured.errors[f"no answer with {fragment.split()[0]!r} (said: {said})"] += 1

    # Delivering -------------------------------------------------------------------------------
    def _endpoint(self) -> str:
        return self.endpoints[next(self._next_endpoint) % len(self.endpoints)]

    async def _webhook(self, http: httpx.AsyncClient, update: dict[str, Any]) -> bool:
        try:
            response = await http.post(
                f"{self._endpoint()}/telegram/webhook", content=telegram_api.as_json(update),
                headers={"Content-Type": "application/json",
                         "X-Telegram-Bot-Api-Secret-Token": self.telegram_secret})
        except httpx.HTTPError as exc:
            self.measured.errors[f"webhook {type(exc).__name__}"] += 1
            return False
        if response.status_code != 200:
            self.measured.errors[f"webhook HTTP {response.status_code}"] += 1
            return False
        return True

    async def _answer(self, chat: str, fragment: str, since: int) -> float | None:
        try:
            request = await self.telegram.wait_for(
                "sendMessage", since=since, timeout=ANSWER_WAIT,
                where=lambda r: r.get("chat_id") == chat and fragment in r.get("text", ""))
        except AssertionError:
            self._missing.append((chat, fragment, since))
            return None
        return request.received_at

    async def _turn(self, http: httpx.AsyncClient, user: int, update: dict[str, Any],
                    fragment: str) -> float | None:
        """Send ``update``; the milliseconds until the answer containing ``fragment``."""
        mark = self.telegram.mark()
        started = time.monotonic()
        if not await self._webhook(http, update):
            return None
        answered = await self._answer(str(user), fragment, mark)
        return None if answered is None else (answered - started) * 1000

    # Sellers ----------------------------------------------------------------------------------
    async def _seller(self, http: httpx.AsyncClient, user: int) -> None:
        messages = itertools.count(1)

        async def typed(text: str, fragment: str) -> bool:
            update = telegram_api.message_update(text, user_id=user, first_name=f"S{user}",
                                                 message_id=next(messages))
            ms = await self._turn(http, user, update, fragment)
            if ms is None:
                return False
            self.measured.typed_ms.append(ms)
            if time.monotonic() <= self._deadline:
                self.measured.typed_answered_in_window += 1
            return True

        order = f"123-{user % 10_000_000:07d}-1234567"
        if not await typed(ISSUE.format(order=order), "Open it?"):
            return
        button = self._button(str(user), "Open the case")
        if button is None:
            self.measured.errors["no 'Open the case' button"] += 1
            return
        update = telegram_api.callback_update(button, user_id=user, first_name=f"S{user}")
        ms = await self._turn(http, user, update, "Opened")
        if ms is None:
            return
        self.measured.button_ms.append(ms)
        opened = next((r.get("text", "") for r in reversed(self.telegram.calls("sendMessage"))
                       if r.get("chat_id") == str(user) and "Opened" in r.get("text", "")), "")
        found = re.search(r"[A-Z]+-\d{6}", opened)
        if found is None:
            self.measured.errors["no case number in 'Opened'"] += 1
            return
        number = found.group(0)
        self.cases[user] = number
        self.measured.cases_opened += 1
        for i in itertools.count():
            if time.monotonic() >= self._deadline:
                return
            token = f"tk{user}x{i}"
            text = FOLLOW_UPS[i % len(FOLLOW_UPS)].format(number=number, token=token)
            if not await typed(text, f"Added to {number}"):
                return

    def _button(self, chat: str, label: str) -> str | None:
        for request in reversed(self.telegram.calls("sendMessage")):
            markup = request.get("reply_markup")
            if request.get("chat_id") == chat and markup:
                for row in markup["inline_keyboard"]:
                    for button in row:
                        if label in button["text"]:
                            return str(button["callback_data"])
                return None
        return None

    # Agents -----------------------------------------------------------------------------------
    def _parents(self) -> dict[str, str]:
        return {str(m.get("text", "")).split()[0]: str(m["ts"])
                for m in list(self.slack.messages.get(SUPPORT, []))
                if not m.get("thread_ts") and m.get("text")}

    async def _agent(self, http: httpx.AsyncClient, number: int) -> None:
        while time.monotonic() < self._deadline:
            await asyncio.sleep(self.agent_every * self.random.uniform(0.5, 1.5))
            parents = self._parents()
            open_cases = [(u, n) for u, n in self.cases.items() if n in parents]
            if not open_cases:
                continue
            user, case_number = self.random.choice(open_cases)
            token = f"agent{number}x{next(_ids)}"
            ts = f"1600000000.{next(_ids):06d}"
            event = slack_api.thread_reply_event(SUPPORT, parents[case_number],
                                                 f"We asked the carrier, reference {token}",
                                                 user=AGENT, ts=ts)
            self.slack.messages.setdefault(SUPPORT, []).append(
                {"type": "message", "ts": ts, "user": AGENT, "text": event["text"],
                 "thread_ts": parents[case_number]})
            event_id = f"Evbench{token}"
            body = json.dumps(slack_api.event_envelope(event, event_id=event_id)).encode()
            mark = self.telegram.mark()
            started = time.monotonic()
            posted_wall = time.time()
            try:
                response = await http.post(
                    f"{self._endpoint()}/slack/events", content=body,
                    headers={"Content-Type": "application/json",
                             **slack_api.signed_headers(self.signing_secret, body)})
            except httpx.HTTPError as exc:
                self.measured.errors[f"slack events {type(exc).__name__}"] += 1
                continue
            self.measured.agent_ack_ms.append((time.monotonic() - started) * 1000)
            if response.status_code != 200:
                self.measured.errors[f"slack events HTTP {response.status_code}"] += 1
                continue
            waiting = asyncio.ensure_future(self._agent_reply_arrives(
                str(user), token, mark, started, AgentTrip(token, event_id, posted_wall, 0.0)))
            self._agent_waits.add(waiting)

    async def _agent_reply_arrives(self, chat: str, token: str, mark: int, started: float,
                                   trip: AgentTrip) -> None:
        arrived = await self._answer(chat, token, mark)
        if arrived is not None:
            self.measured.agent_ms.append((arrived - started) * 1000)
            self.measured.agent_trips.append(AgentTrip(
                trip.token, trip.event_id, trip.posted, trip.posted + (arrived - started)))

    # Probe ------------------------------------------------------------------------------------
    async def _probe(self, http: httpx.AsyncClient, token: str) -> None:
        url = f"{self.telegram.base_url}{token}/sendMessage"
        while time.monotonic() < self._deadline:
            started = time.perf_counter()
            response = await http.post(url, data={"chat_id": "1", "text": "probe"})
            self.measured.probe_ms.append((time.perf_counter() - started) * 1000)
            if response.status_code != 200:
                self.measured.errors[f"stand-in probe HTTP {response.status_code}"] += 1
            await asyncio.sleep(PROBE_EVERY_SECONDS)

    async def run(self, telegram_token: str) -> Measured:
        limits = httpx.Limits(max_connections=self.webhook_connections)
        async with httpx.AsyncClient(timeout=ANSWER_WAIT, limits=limits) as webhooks, \
                httpx.AsyncClient(timeout=ANSWER_WAIT) as others:
            self._started = time.monotonic()
            self._deadline = self._started + self.seconds
            jobs = [self._seller(webhooks, user) for user in self.users]
            jobs += [self._agent(others, i) for i in range(self.agents)]
            jobs.append(self._probe(others, telegram_token))
            await asyncio.gather(*jobs)
            await asyncio.gather(*self._agent_waits)
            self.measured.window_seconds = self.seconds
        if self._missing:
            await asyncio.sleep(5)  # for late answers still in the outbox
            self._classify_missing()
        return self.measured
