"""The relay benchmark's section of docs/benchmarks.md, in markdown: the setup, and every
figure per database as the median over the repetitions with their range."""

from __future__ import annotations

import os
import platform
import statistics
from collections.abc import Callable

from bench.relay_load import Result
from bench.relay_sizes import Sizes
from bench.report import percentile

COMMAND = ".venv/bin/python -m bench.bench_relay"


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
