"""Whole-service load test: `frontdoor serve` as real processes, the real Rasa model, traffic
only through the HTTP endpoints.

Per database: SQLite with one serve process, PostgreSQL with two (webhooks round-robin, as
behind a load balancer). The Telegram Bot API and the Slack Web API are the stand-ins of
tests/standins (each in a thread of this process), the NLU the project's trained Rasa model in
its own server. ``--sellers`` simulated sellers open a case and send follow-ups through
``/telegram/webhook`` for ``--seconds``, while agents reply through signed ``/slack/events``
(`bench.service_load`).

Reported: typed seller messages answered per second, webhook POST -> answer at the stand-in
p50/p99, agent reply -> seller p50/p99, errors, the resident memory of each process. In the
same run, before each load: the raw Rasa ``/model/parse`` throughput with as many clients as
there are sellers (bare HTTP POSTs, not the app's client), and the bare stand-in round trip
(quiet, and probed during the load).

Run: ``.venv/bin/python -m bench.bench_service`` (``--seconds 25`` for a shorter run,
``--no-report`` to only print). The PostgreSQL server is ``FRONTDOOR_BENCH_PG_URL`` (default
the test server); a fresh database is created and dropped there.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import platform
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from bench.report import percentile, write_section
from bench.service_load import AGENT, FOLLOW_UPS, SUPPORT, Load, Measured
from bench.service_processes import cpu_seconds, listening_pid, rss_mb
from bench.service_reading import READING
from bench.service_stages import stage_rows, stage_times
from bench.service_work import cpu_bound_rate, dispatch_counts, per_delivered
from frontdoor.settings import Settings, load_settings
from frontdoor.wiring import build_services
from storage.migrate import upgrade
from tests.faults.cluster import fresh_database
from tests.faults.serve_processes import ServeProcess, clean_environment
from tests.standins.slack_api import SlackStandIn
from tests.standins.telegram_api import TelegramStandIn

COMMAND = ".venv/bin/python -m bench.bench_service"
PG_SERVER_ENV = "FRONTDOOR_BENCH_PG_URL"
DEFAULT_PG_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
TELEGRAM_TOKEN = "123:SERVICE"
TELEGRAM_SECRET = "service-webhook-secret"
SLACK_TOKEN = "xoxb-service"
SIGNING_SECRET = "service-signing-secret"
FIRST_USER = 9_100_001
QUIET_ROUND_TRIPS = 200


@dataclass
class Run:
    """One database's results."""

    name: str
    processes: int
    rasa_rps: float = 0.0
    rasa_p50_ms: float = 0.0
    standin_p50_ms: float = 0.0
    standin_p99_ms: float = 0.0
    measured: Measured = field(default_factory=Measured)
    rss_mb: dict[str, tuple[float, float]] = field(default_factory=dict)  # now, peak
    dead_letters: int = 0
    log_errors: int = 0
    cpu_s: dict[str, float] = field(default_factory=dict)  # CPU seconds during the load
    stages: dict[str, list[float]] = field(default_factory=dict)  # agent reply, per stage
    #: the serve processes' dispatcher counters at the end (their /metrics), summed
    dispatch: dict[str, float] = field(default_factory=dict)

    @property
    def typed_rps(self) -> float:
        m = self.measured
        return m.typed_answered_in_window / m.window_seconds if m.window_seconds else 0.0


# Baselines ------------------------------------------------------------------------------------
async def raw_rasa(url: str, clients: int, seconds: float) -> tuple[float, float]:
    """Bare POSTs to ``/model/parse`` by ``clients`` closed loops for ``seconds``: (req/s,
    p50 ms)."""
    texts = [f.format(number="CX-000001", token=f"tk{i}") for i, f in enumerate(FOLLOW_UPS)]
    latencies: list[float] = []
    deadline = time.monotonic() + seconds

    async def client(http: httpx.AsyncClient, n: int) -> None:
        i = n
        while time.monotonic() < deadline:
            started = time.perf_counter()
            response = await http.post(f"{url}/model/parse", json={"text": texts[i % 3]})
            response.raise_for_status()
            latencies.append((time.perf_counter() - started) * 1000)
            i += 1

    async with httpx.AsyncClient(timeout=60, limits=httpx.Limits(max_connections=clients)) as http:
        started = time.monotonic()
        await asyncio.gather(*(client(http, n) for n in range(clients)))
        elapsed = time.monotonic() - started
    return len(latencies) / elapsed, percentile(latencies, 50)


async def stand_in_round_trips(telegram: TelegramStandIn, count: int) -> list[float]:
    trips: list[float] = []
    async with httpx.AsyncClient() as http:
        for i in range(count):
            started = time.perf_counter()
            response = await http.post(f"{telegram.base_url}{TELEGRAM_TOKEN}/sendMessage",
                                       data={"chat_id": "1", "text": f"baseline {i}"})
            trips.append((time.perf_counter() - started) * 1000)
            response.raise_for_status()
    return trips


def serve_env(database_url: str, rasa_url: str, telegram: TelegramStandIn,
              slack: SlackStandIn) -> dict[str, str]:
    return clean_environment({
        "FRONTDOOR_DATABASE_URL": database_url,
        "FRONTDOOR_NLU_URL": rasa_url,
        "TELEGRAM_BOT_TOKEN": TELEGRAM_TOKEN,
        "TELEGRAM_API_BASE_URL": telegram.base_url,
        "TELEGRAM_WEBHOOK_SECRET": TELEGRAM_SECRET,
        "TELEGRAM_MODE": "webhook",
        "SLACK_BOT_TOKEN": SLACK_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_BASE_URL": slack.base_url,
        "SLACK_SUPPORT_CHANNEL": SUPPORT,
        "FRONTDOOR_DAILY_CASE_CAP": "1000",
    })


def register_sellers(database_url: str, count: int) -> list[int]:
    """Registered Telegram sellers, set up as an operator's invitations would."""
    services = build_services(Settings(_env_file=None,  # type: ignore[call-arg]
                                       frontdoor_database_url=database_url))
    users = []
    try:
        cases = services.cases
        for i in range(count):
            user = FIRST_USER + i
            identity, _ = cases.identify("telegram", str(user), str(user), f"S{user}")
            cases.register(identity.id, cases.create_invitation(f"Load Shop {i}").code)
            users.append(user)
        return users
    finally:
        services.database.dispose()


def dead_letters(database_url: str) -> int:
    services = build_services(Settings(_env_file=None,  # type: ignore[call-arg]
                                       frontdoor_database_url=database_url))
    try:
        return services.outbox_queue.counts().get("dead", 0)
    finally:
        services.database.dispose()


def run_database(name: str, database_url: str, processes: int, rasa_url: str,
                 args: argparse.Namespace, workdir: Path) -> Run:
    run = Run(name, processes)
    with TelegramStandIn().running_in_thread() as telegram, \
            SlackStandIn().running_in_thread() as slack:
        slack.set_members(SUPPORT, [AGENT])
        slack.add_user(AGENT, "bo", "Bo Agent")
        users = register_sellers(database_url, args.sellers)
        env = serve_env(database_url, rasa_url, telegram, slack)
        for setting in args.serve_setting:
            variable, _, value = setting.partition("=")
            env[variable] = value
        servers = [ServeProcess(f"{name.lower()}-serve{i + 1}", env, workdir)
                   for i in range(processes)]
        try:
            for server in servers:
                server.start()
            for server in servers:
                server.wait_healthy(120)
            run.rasa_rps, run.rasa_p50_ms = asyncio.run(
                raw_rasa(rasa_url, args.sellers, args.rasa_seconds))
            quiet = asyncio.run(stand_in_round_trips(telegram, QUIET_ROUND_TRIPS))
            run.standin_p50_ms, run.standin_p99_ms = percentile(quiet, 50), percentile(quiet, 99)
            load = Load([s.url for s in servers], telegram, slack, users, TELEGRAM_SECRET,
                        SIGNING_SECRET, args.seconds, args.agents, args.webhook_connections,
                        agent_every=args.agent_every)
            rasa_pid = listening_pid(int(rasa_url.rsplit(":", 1)[1]))
            pids = {s.name: s.process.pid for s in servers if s.process is not None}
            if rasa_pid is not None:
                pids["rasa"] = rasa_pid
            pids["bench (stand-ins, load)"] = os.getpid()
            before = {name: cpu_seconds(pid) for name, pid in pids.items()}
            run.measured = asyncio.run(load.run(TELEGRAM_TOKEN))
            run.cpu_s = {name: cpu_seconds(pid) - before[name] for name, pid in pids.items()}
            run.dispatch = dispatch_counts([s.url for s in servers])
            for server in servers:
                assert server.process is not None
                run.rss_mb[server.name] = rss_mb(server.process.pid)
                run.log_errors += len(server.log_lines("Traceback")) + len(
                    server.log_lines(" 500 "))
            if rasa_pid is not None:
                run.rss_mb["rasa"] = rss_mb(rasa_pid)
            run.rss_mb["bench (stand-ins, load)"] = rss_mb(os.getpid())
            run.dead_letters = dead_letters(database_url)
            run.stages = stage_times(database_url, run.measured.agent_trips)
        except Exception:
            for server in servers:
                print(f"--- {server.name}:\n{server.log_tail()}", file=sys.stderr)
            raise
        finally:
            for server in servers:
                server.stop()
    return run


# Report ---------------------------------------------------------------------------------------
def _p(values: list[float], pct: float) -> str:
    return f"{percentile(values, pct):.1f}" if values else "–"


def render(runs: list[Run], args: argparse.Namespace, seconds: float,
           load: tuple[str, str]) -> str:
    lines = [
        "## Whole service under load (`bench/bench_service.py`)",
        "",
        f"Command: `{COMMAND} --seconds {args.seconds:g}` (total {seconds:.0f} s; the default is "
        "60 s per database, shortened here because the 2-core machine is shared with other "
        "engineers' tests).",
        "",
        f"- Machine: {os.cpu_count()} CPUs, Python {platform.python_version()}, "
        f"{platform.platform()}; load average at start {load[0]}, at end {load[1]}.",
        f"- Load: {args.sellers} sellers, each a closed loop over `/telegram/webhook` (at most "
        f"{args.webhook_connections} connections at once, Telegram's `max_connections`): "
        "describe an issue, press \"Open the case\", then follow-ups naming the case until "
        f"the time is up; {args.agents} agents reply in random open cases' threads through "
        f"signed `/slack/events`, each about every {args.agent_every:g} s without waiting for "
        "the last to arrive (an open loop: the same agent load however fast they are "
        "answered). "
        f"{args.seconds:g} s of load per "
        "database, one run each (repetitions: 1; the baselines below come from the same run).",
        "- Processes: `frontdoor serve` (the installed command, settings in the environment), "
        "the project's Rasa model in its own server, the Telegram and Slack stand-ins of "
        "tests/standins in this process; all on 127.0.0.1.",
        "- Same-run baselines, measured right before each load: raw Rasa `/model/parse` "
        f"throughput with {args.sellers} concurrent bare HTTP clients for "
        f"{args.rasa_seconds:g} s; the bare stand-in round trip (`sendMessage`, "
        f"{QUIET_ROUND_TRIPS} sequential, quiet) and the same probed every 0.2 s during the "
        "load.",
        "",
        "| | " + " | ".join(f"{r.name} ({r.processes} process{'es' if r.processes > 1 else ''})"
                           for r in runs) + " |",
        "|---|" + "---:|" * len(runs),
    ]

    def row(label: str, value: object) -> None:
        lines.append(f"| {label} | " + " | ".join(str(value(r)) for r in runs) + " |")  # type: ignore[operator]

    row("**typed seller messages answered /s**", lambda r: f"**{r.typed_rps:.1f}**")
    row("baseline: raw Rasa `/model/parse` req/s (same concurrency)",
        lambda r: f"{r.rasa_rps:.1f}")
    row("**typed throughput ÷ raw Rasa** (target ≥ 0.8)",
        lambda r: f"**{r.typed_rps / r.rasa_rps:.2f}**" if r.rasa_rps else "–")
    row("typed messages answered in the window", lambda r: r.measured.typed_answered_in_window)
    row("cases opened", lambda r: r.measured.cases_opened)
    row("webhook POST -> answer at the stand-in, typed, p50 / p99 ms",
        lambda r: f"{_p(r.measured.typed_ms, 50)} / {_p(r.measured.typed_ms, 99)}")
    row("same, button press, p50 / p99 ms",
        lambda r: f"{_p(r.measured.button_ms, 50)} / {_p(r.measured.button_ms, 99)}")
    row("raw Rasa parse p50 ms (at that concurrency)", lambda r: f"{r.rasa_p50_ms:.1f}")
    row("**agent reply -> seller p50 / p99 ms**",
        lambda r: f"**{_p(r.measured.agent_ms, 50)} / {_p(r.measured.agent_ms, 99)}**")
    row("agent replies timed", lambda r: len(r.measured.agent_ms))
    row("`/slack/events` answered p50 / p99 ms",
        lambda r: f"{_p(r.measured.agent_ack_ms, 50)} / {_p(r.measured.agent_ack_ms, 99)}")
    row("baseline: bare stand-in round trip, quiet, p50 / p99 ms",
        lambda r: f"{r.standin_p50_ms:.1f} / {r.standin_p99_ms:.1f}")
    row("baseline: bare stand-in round trip, during the load, p50 / p99 ms",
        lambda r: f"{_p(r.measured.probe_ms, 50)} / {_p(r.measured.probe_ms, 99)}")
    row("**agent reply p50 − stand-in p50 under load, ms** (target ≤ 10)",
        lambda r: f"**{percentile(r.measured.agent_ms, 50) - percentile(r.measured.probe_ms, 50):.1f}**"
        if r.measured.agent_ms and r.measured.probe_ms else "–")
    for label, cells in stage_rows([r.stages for r in runs]):
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    row("**errors** (client side)",
        lambda r: f"**{sum(r.measured.errors.values())}**"
        + (" (" + ", ".join(f"{k}: {v}" for k, v in r.measured.errors.items()) + ")"
           if r.measured.errors else ""))
    row("server log tracebacks / HTTP 500 lines", lambda r: r.log_errors)
    row("dead-lettered outbox items", lambda r: r.dead_letters)
    row("outbox claim transactions per item delivered (of them found nothing)",
        lambda r: per_delivered(r.dispatch, "claims with items", "claims that found nothing"))
    row("delivery record transactions per item delivered",
        lambda r: per_delivered(r.dispatch, "record transactions"))
    names = sorted({n for r in runs for n in r.rss_mb}, key=lambda n: (n.startswith("bench"), n))
    for name in names:
        row(f"CPU ms per typed message answered: {name}",
            lambda r, n=name: f"{1000 * r.cpu_s[n] / r.measured.typed_answered_in_window:.0f}"
            if n in r.cpu_s and r.measured.typed_answered_in_window else "–")
    row("upper bound with a core per serve process: 1000 ÷ the busiest one's CPU ms per "
        "typed message, msgs/s (÷ raw Rasa)",
        lambda r: cpu_bound_rate(r.measured.typed_answered_in_window, r.cpu_s, r.rasa_rps))
    for name in names:
        row(f"RSS {name} now / peak MB",
            lambda r, n=name: f"{r.rss_mb[n][0]:.0f} / {r.rss_mb[n][1]:.0f}" if n in r.rss_mb
            else "–")
    lines += ["", *[verdicts(r) for r in runs], "", READING]
    return "\n".join(lines)


def verdicts(run: Run) -> str:
    m = run.measured
    ratio = run.typed_rps / run.rasa_rps if run.rasa_rps else float("nan")
    gap = (percentile(m.agent_ms, 50) - percentile(m.probe_ms, 50)
           if m.agent_ms and m.probe_ms else float("nan"))
    errors = sum(m.errors.values()) + run.log_errors + run.dead_letters

    def said(ok: bool) -> str:
        return "met" if ok else "NOT met"

    return (f"- **{run.name}**: typed throughput {ratio:.2f}× raw Rasa (target ≥ 0.8: "
            f"**{said(ratio >= 0.8)}**); agent reply p50 {gap:.1f} ms above the stand-in round "
            f"trip under load (target ≤ 10 ms: **{said(gap <= 10)}**); {errors} errors "
            f"(target 0: **{said(errors == 0)}**).")



@contextlib.contextmanager
def sqlite_database() -> Iterator[str]:
    with tempfile.TemporaryDirectory(prefix="fd_bench_service_") as tmp:
        url = f"sqlite:///{tmp}/frontdoor.db"
        upgrade(url)
        yield url


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sellers", type=int, default=100)
    parser.add_argument("--agents", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=60.0, help="load per database")
    parser.add_argument("--rasa-seconds", type=float, default=10.0)
    parser.add_argument("--webhook-connections", type=int, default=40)
    parser.add_argument("--agent-every", type=float, default=2.0,
                        help="seconds between one agent's replies (on average)")
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--no-report", action="store_true", help="print, don't write the doc")
    parser.add_argument("--serve-setting", action="append", default=[], metavar="NAME=VALUE",
                        help="an extra setting for the serve processes (to compare two ways)")
    args = parser.parse_args(argv if argv is not None else sys.argv[1:])
    from nlu.server import nlu_service

    settings = load_settings()
    load_start = " ".join(f"{x:.2f}" for x in os.getloadavg())
    started = time.monotonic()
    runs = []
    with nlu_service(os.environ.get("FRONTDOOR_NLU_URL"), settings.frontdoor_cache_dir,
                     port=0) as rasa_url, \
            tempfile.TemporaryDirectory(prefix="fd_bench_service_logs_") as logs:
        with sqlite_database() as url:
            runs.append(run_database("SQLite", url, 1, rasa_url, args, Path(logs)))
            print(f"SQLite: {runs[-1].typed_rps:.1f} typed msg/s", flush=True)
        if not args.no_postgres:
            with fresh_database(os.environ.get(PG_SERVER_ENV, DEFAULT_PG_SERVER)) as url:
                runs.append(run_database("PostgreSQL", url, 2, rasa_url, args, Path(logs)))
                print(f"PostgreSQL: {runs[-1].typed_rps:.1f} typed msg/s", flush=True)
    load_end = " ".join(f"{x:.2f}" for x in os.getloadavg())
    markdown = render(runs, args, time.monotonic() - started, (load_start, load_end))
    print(markdown)
    if not args.no_report:
        write_section("service", markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
