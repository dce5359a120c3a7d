"""Relay benchmark (issue 5): `frontdoor serve` as operators run it, driven over HTTP.

The server is the real CLI (``frontdoor serve --port 0``) in its own process, configured only
through the environment: its Telegram and Slack APIs are the local stand-ins
(tests/standins), its NLU a small keyword "Rasa" answering ``/model/parse`` (so the numbers are
about the relay, not the model). Everything listens on 127.0.0.1. This process plays the
platforms and the users:

* **conversations**: many simulated sellers on Telegram, each a closed loop (send a webhook
  update, wait for the bot's answer at the Telegram stand-in, send the next): register with
  ``/start CODE``, describe an issue, press "Open the case", add follow-ups. Reported: messages
  per second over the whole run (every message answered and its Slack thread post delivered),
  and each turn's latency (webhook sent -> the bot's answer at the stand-in).
* **relay latency**: an agent's thread reply, as a signed ``/slack/events`` request, until the
  Telegram ``sendMessage`` reaches the stand-in; one at a time, p50/p99.
* **baselines, same run**: ``/healthz`` through the same server (HTTP stack only), and a bare
  round trip to the Telegram stand-in (the platform part of every relay).

On SQLite (temp file) and PostgreSQL (scratch database ``fd_bench_relay`` on the server of
``FRONTDOOR_BENCH_PG_URL``, default ``postgresql+psycopg://postgres@127.0.0.1:5432/test``,
created and dropped here; no other database is touched).

Run: ``.venv/bin/python -m bench.bench_relay`` (``--quick`` for a smoke run).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import platform
import queue
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg
from aiohttp import web
from psycopg import sql as pgsql
from sqlalchemy.engine import make_url

from bench.report import percentile, write_section
from tests.standins import HandlerResult, StandInServer, slack_api, telegram_api
from tests.standins.slack_api import SlackStandIn
from tests.standins.telegram_api import TelegramStandIn

COMMAND = ".venv/bin/python -m bench.bench_relay"
ROOT = Path(__file__).resolve().parent.parent
PG_SERVER_ENV = "FRONTDOOR_BENCH_PG_URL"
DEFAULT_PG_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
SCRATCH_DB = "fd_bench_relay"
TELEGRAM_TOKEN = "123:BENCH"
TELEGRAM_SECRET = "bench-webhook-secret"
SLACK_TOKEN = "xoxb-bench"
SIGNING_SECRET = "bench-signing-secret"
SUPPORT = "C0SUPPORT"
AGENT = "U0AGENT01"
ORDER = "123-1234567-1234567"
WAIT = 60.0  # per awaited reply; a stuck run fails instead of hanging

# What the keyword "Rasa" answers: first keyword found wins; anything else has no intent.
NLU_RULES = {"never arrived": "shipping", "any update": "check_status", "hello": "greet"}


@dataclass(frozen=True)
class Sizes:
    """How much work each phase does (defaults: about a minute per database on 2 cores)."""

    sellers: int = 100  # concurrent simulated sellers
    followups: int = 3  # follow-up messages per seller after the case is open
    replies: int = 200  # agent replies timed one at a time
    healthz: int = 2000  # baseline requests
    roundtrips: int = 300  # baseline stand-in round trips


QUICK = Sizes(sellers=8, followups=1, replies=20, healthz=200, roundtrips=50)


# The keyword NLU ------------------------------------------------------------------------------
class KeywordRasa(StandInServer):
    """Answers Rasa's ``POST /model/parse`` and ``GET /status`` from :data:`NLU_RULES`."""

    def _routes(self) -> list[tuple[str, str, Callable[[web.Request], Awaitable[web.StreamResponse]]]]:
        return [("POST", "/model/parse", self._on_parse), ("GET", "/status", self._on_status)]

    async def _on_parse(self, request: web.Request) -> web.StreamResponse:
        async def answer(_method: str, params: dict[str, Any]) -> HandlerResult:
            text = str(params.get("text", "")).lower()
            intent = next((i for k, i in NLU_RULES.items() if k in text), None)
            ranking = [{"name": intent, "confidence": 0.95}] if intent else []
            return 200, {"text": text, "intent": ranking[0] if ranking else None,
                         "intent_ranking": ranking, "entities": []}

        return await self._handle(request, "parse", answer)

    async def _on_status(self, request: web.Request) -> web.StreamResponse:
        async def answer(_method: str, _params: dict[str, Any]) -> HandlerResult:
            return 200, {"model_file": "keyword-rasa.tar.gz"}

        return await self._handle(request, "status", answer)


# The server process ----------------------------------------------------------------------------
@dataclass
class ServeProcess:
    """`frontdoor serve --port 0` in a child process; ``url`` once it is listening."""

    env: dict[str, str]
    url: str = ""
    proc: subprocess.Popen[str] | None = None
    tail: list[str] = field(default_factory=list)

    def start(self, timeout: float = 120.0) -> None:
        exe = str(ROOT / ".venv" / "bin" / "frontdoor")
        self.proc = subprocess.Popen(
            [exe, "serve", "--host", "127.0.0.1", "--port", "0"], cwd=tempfile.gettempdir(),
            env=self.env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE, text=True)
        found: queue.Queue[str] = queue.Queue()

        def drain() -> None:  # also keeps the pipe from filling up
            assert self.proc is not None and self.proc.stderr is not None
            for line in self.proc.stderr:
                self.tail = (self.tail + [line.rstrip()])[-40:]
                match = re.search(r"Uvicorn running on (http://127\.0\.0\.1:\d+)", line)
                if match:
                    found.put(match.group(1))

        threading.Thread(target=drain, name="serve-stderr", daemon=True).start()
        try:
            self.url = found.get(timeout=timeout)
        except queue.Empty:
            self.stop()
            raise RuntimeError("frontdoor serve did not start:\n" + "\n".join(self.tail)) from None

    def cpu_seconds(self) -> float:
        """User + system CPU time the server process has used so far."""
        assert self.proc is not None
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGINT)  # graceful: lifespan shutdown
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)


# Databases -------------------------------------------------------------------------------------
@contextlib.contextmanager
def sqlite_database() -> Iterator[str]:
    with tempfile.TemporaryDirectory(prefix="fd_bench_relay_") as tmp:
        yield f"sqlite:///{tmp}/frontdoor.db"


def _admin_dsn(server_url: str) -> str:
    u = make_url(server_url)
    parts = {"host": u.host, "port": u.port, "dbname": u.database, "user": u.username,
             "password": u.password}
    return " ".join(f"{k}={v}" for k, v in parts.items() if v is not None)


@contextlib.contextmanager
def postgres_database(server_url: str) -> Iterator[str]:
    """The scratch database, created empty (the server migrates it) and dropped after."""
    drop = pgsql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(pgsql.Identifier(SCRATCH_DB))
    with psycopg.connect(_admin_dsn(server_url), autocommit=True) as conn:
        conn.execute(drop)
        conn.execute(pgsql.SQL("CREATE DATABASE {}").format(pgsql.Identifier(SCRATCH_DB)))
    try:
        yield make_url(server_url).set(database=SCRATCH_DB).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(_admin_dsn(server_url), autocommit=True) as conn:
            conn.execute(drop)


# Measuring -------------------------------------------------------------------------------------
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


async def _baselines(p: Platforms, sizes: Sizes, result: Result) -> None:
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


async def _conversations(p: Platforms, codes: list[str], sizes: Sizes, result: Result,
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


async def _relay_latency(p: Platforms, sellers: list[SimSeller], sizes: Sizes,
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


def _serve_env(database_url: str, telegram: TelegramStandIn, slack: SlackStandIn,
               nlu: KeywordRasa) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("FRONTDOOR_", "TELEGRAM_", "SLACK_"))}
    env.update({
        "FRONTDOOR_DATABASE_URL": database_url,
        "FRONTDOOR_NLU_URL": nlu.origin,
        "TELEGRAM_BOT_TOKEN": TELEGRAM_TOKEN,
        "TELEGRAM_API_BASE_URL": telegram.base_url,
        "TELEGRAM_WEBHOOK_SECRET": TELEGRAM_SECRET,
        "SLACK_BOT_TOKEN": SLACK_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_BASE_URL": slack.base_url,
        "SLACK_SUPPORT_CHANNEL": SUPPORT,
        "FRONTDOOR_DAILY_CASE_CAP": "1000",
    })
    return env


def _invitations(database_url: str, count: int) -> list[str]:
    """Invitation codes, created as an operator would (`CaseService.create_invitation`)."""
    from frontdoor.settings import Settings
    from frontdoor.wiring import build_services

    services = build_services(Settings(_env_file=None,  # type: ignore[call-arg]
                                       frontdoor_database_url=database_url))
    try:
        return [services.cases.create_invitation(f"Bench Shop {i}").code for i in range(count)]
    finally:
        services.database.dispose()


def run_backend(backend: str, database_url: str, sizes: Sizes) -> Result:
    result = Result(backend)
    with TelegramStandIn().running_in_thread() as telegram, \
            SlackStandIn().running_in_thread() as slack, \
            KeywordRasa().running_in_thread() as nlu:
        slack.set_members(SUPPORT, [AGENT])
        server = ServeProcess(_serve_env(database_url, telegram, slack, nlu))
        server.start()  # migrates the database first
        try:
            codes = _invitations(database_url, sizes.sellers)

            async def drive() -> None:
                async with httpx.AsyncClient(timeout=WAIT) as http, httpx.AsyncClient(
                        timeout=WAIT, limits=httpx.Limits(max_connections=40)) as webhook_http:
                    p = Platforms(telegram, slack, server.url, http, webhook_http)
                    await _baselines(p, sizes, result)
                    sellers = await _conversations(p, codes, sizes, result, server)
                    await _relay_latency(p, sellers, sizes, result)
                    result.redeliveries = p.redeliveries

            asyncio.run(drive())
        except Exception:
            print("frontdoor serve's last log lines:\n" + "\n".join(server.tail),
                  file=sys.stderr)
            raise
        finally:
            server.stop()
    return result


# Report -----------------------------------------------------------------------------------------
def _ms(values: list[float], pct: float) -> str:
    return f"{percentile(values, pct):.1f}"


def render(runs: list[list[Result]], sizes: Sizes, seconds: float,
           load: tuple[str, str]) -> str:
    """``runs``: per database, its repetitions. Every figure is the median over the
    repetitions, with their range."""
    reps = len(runs[0])
    lines = [
        "## Relay (`bench/bench_relay.py`)",
        "",
        f"Command: `{COMMAND}` (total {seconds:.0f} s).",
        "",
        f"- Machine: {os.cpu_count()} CPUs; Python {platform.python_version()}; "
        f"{platform.platform()}; load average at start / end: {load[0]} / {load[1]}",
        "- server: the real `frontdoor serve --port 0` in its own process (uvicorn, access log "
        "on, scheduler on), configured by environment only; Telegram Bot API and Slack Web API "
        "are the stand-ins of tests/standins, NLU a keyword server answering Rasa's "
        "`/model/parse`; this process runs the stand-ins and the simulated users; all on "
        "127.0.0.1",
        f"- load, conversations: {sizes.sellers} sellers at once over at most 40 webhook "
        "connections (Telegram's default `max_connections`), each seller in a closed loop "
        "(send, wait for the bot's answer at the stand-in, send the next): `/start CODE`, an "
        f"issue, \"Open the case\" (button), {sizes.followups} follow-up(s); the run ends when "
        "every answer and every Slack thread post has arrived",
        f"- load, relay latency: {sizes.replies} agent thread replies one at a time, signed "
        "`/slack/events` POST -> `sendMessage` received by the Telegram stand-in",
        f"- repetitions: {reps} per database, each on a fresh database and server; every "
        "figure is the median over the repetitions, (min–max) after it",
        f"- same-run baselines, in each repetition: `/healthz` through the same server at the "
        f"conversations' concurrency ({sizes.sellers} clients in closed loops over the same "
        f"40 connections, {sizes.healthz} requests); the bare Telegram stand-in `sendMessage` "
        f"round trip ({sizes.roundtrips} sequential)",
        "",
        "| | " + " | ".join(r[0].backend for r in runs) + " |",
        "|---|" + "---|" * len(runs),
    ]

    def cell(results: list[Result], value: Callable[[Result], float], fmt: str) -> str:
        values = [value(r) for r in results]
        mid = statistics.median(values)
        if len(values) == 1:
            return format(mid, fmt)
        return f"{format(mid, fmt)} ({format(min(values), fmt)}–{format(max(values), fmt)})"

    def row(name: str, *parts: tuple[Callable[[Result], float], str], bold: bool = False) -> None:
        cells = [" / ".join(cell(rs, v, f) for v, f in parts) for rs in runs]
        if bold:
            cells = [f"**{c}**" for c in cells]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")

    row("**conversation messages/s** (sustained, end to end)", (lambda r: r.msgs_per_s, ".1f"),
        bold=True)
    row("seconds for the conversations", (lambda r: r.conv_seconds, ".1f"))
    row("turn latency p50 / p99 ms (webhook -> answer)",
        (lambda r: percentile(r.turn_ms, 50), ".1f"), (lambda r: percentile(r.turn_ms, 99), ".1f"))
    row("server CPU per message, ms", (lambda r: r.server_cpu_per_msg_ms, ".1f"))
    row("webhook redeliveries (connection closed under us)", (lambda r: r.redeliveries, ".0f"))
    row("**relay latency p50 / p99 ms** (agent reply -> Telegram)",
        (lambda r: percentile(r.relay_ms, 50), ".1f"),
        (lambda r: percentile(r.relay_ms, 99), ".1f"), bold=True)
    row("/slack/events answered p50 ms", (lambda r: percentile(r.ack_ms, 50), ".1f"))
    row(f"baseline: /healthz req/s ({sizes.sellers} clients, 40 connections) / p50 ms",
        (lambda r: r.healthz_rps, ".0f"), (lambda r: r.healthz_p50_ms, ".1f"))
    row("baseline: stand-in sendMessage round trip p50 / p99 ms",
        (lambda r: r.standin_p50_ms, ".1f"), (lambda r: r.standin_p99_ms, ".1f"))
    lines += [
        "",
        "Reading: a conversation turn costs the server a few engine transactions plus the NLU "
        "call; the relay adds the Slack event's inbox record, one desk transaction and one "
        "outbox delivery to the bare platform round trip, with the dispatcher woken by the "
        "commit (no polling delay).",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a seconds-long smoke run")
    parser.add_argument("--repetitions", type=int, default=3, help="runs per database")
    parser.add_argument("--no-postgres", action="store_true", help="SQLite only")
    parser.add_argument("--no-report", action="store_true", help="print, don't write the doc")
    args = parser.parse_args(argv if argv is not None else sys.argv[1:])
    sizes = QUICK if args.quick else Sizes()
    repetitions = 1 if args.quick else args.repetitions
    load_start = " ".join(f"{x:.2f}" for x in os.getloadavg())
    started = time.monotonic()
    runs: list[list[Result]] = [[], []] if not args.no_postgres else [[]]
    for _ in range(repetitions):
        with sqlite_database() as url:
            runs[0].append(run_backend("SQLite", url, sizes))
            print(f"SQLite: {runs[0][-1].msgs_per_s:.1f} msg/s", flush=True)
        if not args.no_postgres:
            with postgres_database(os.environ.get(PG_SERVER_ENV, DEFAULT_PG_SERVER)) as url:
                runs[1].append(run_backend("PostgreSQL", url, sizes))
                print(f"PostgreSQL: {runs[1][-1].msgs_per_s:.1f} msg/s", flush=True)
    load_end = " ".join(f"{x:.2f}" for x in os.getloadavg())
    markdown = render(runs, sizes, time.monotonic() - started, (load_start, load_end))
    print(markdown)
    if not args.quick and not args.no_report:
        write_section("relay", markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
