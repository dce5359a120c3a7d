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
import os
import sys
import time

import httpx

from bench.keyword_rasa import KeywordRasa
from bench.relay_databases import postgres_database, sqlite_database
from bench.relay_load import (
    WAIT,
    Platforms,
    Result,
    measure_baselines,
    measure_relay_latency,
    run_conversations,
)
from bench.relay_report import render
from bench.relay_server import AGENT, SUPPORT, ServeProcess, create_invitations, serve_env
from bench.relay_sizes import QUICK, Sizes
from bench.report import write_section
from bench.scratch_databases import DEFAULT_PG_SERVER, PG_SERVER_ENV
from tests.standins.slack_api import SlackStandIn
from tests.standins.telegram_api import TelegramStandIn


def run_backend(backend: str, database_url: str, sizes: Sizes) -> Result:
    result = Result(backend)
    with TelegramStandIn().running_in_thread() as telegram, \
            SlackStandIn().running_in_thread() as slack, \
            KeywordRasa().running_in_thread() as nlu:
        slack.set_members(SUPPORT, [AGENT])
        server = ServeProcess(serve_env(database_url, telegram, slack, nlu))
        server.start()  # migrates the database first
        try:
            codes = create_invitations(database_url, sizes.sellers)

            async def drive() -> None:
                async with httpx.AsyncClient(timeout=WAIT) as http, httpx.AsyncClient(
                        timeout=WAIT, limits=httpx.Limits(max_connections=40)) as webhook_http:
                    p = Platforms(telegram, slack, server.url, http, webhook_http)
                    await measure_baselines(p, sizes, result)
                    sellers = await run_conversations(p, codes, sizes, result, server)
                    await measure_relay_latency(p, sellers, sizes, result)
                    result.redeliveries = p.redeliveries

            asyncio.run(drive())
        except Exception:
            print("frontdoor serve's last log lines:\n" + "\n".join(server.tail),
                  file=sys.stderr)
            raise
        finally:
            server.stop()
    return result


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
