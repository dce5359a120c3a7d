"""Engine benchmark: what `Engine.handle` adds to Rasa's parse time, plus its own cost.

Each seller runs the same short conversation (greet, describe a problem, confirm, ask for an
update, add a detail, thank). Measured on SQLite and PostgreSQL:

* **interleaved, real Rasa**: for every typed message, the raw Rasa parse of its text and the
  engine end to end (`Engine.handle` with the Rasa classifier) are measured back to back,
  alternating which goes first, so whatever else the machine is doing hits both alike. The
  engine's *critical path* is the time from the moment the NLU answer arrives to the moment
  `handle` returns (the engine asks the NLU before its first transaction, so the work before
  that overlaps the parse). Several rounds with fresh sellers; medians per round and over
  the rounds.
* **fake classifier**: the engine's own cost (dialogue, rules, storage, outbox) and the SQL
  statements and transactions per message (a ``before_cursor_execute`` listener).
* several sellers at once, with the fake classifier and with Rasa.

The target is that the engine adds less than 20% to Rasa's parse time at p50 (typed
messages, the ones that are classified). Run: ``.venv/bin/python -m bench.bench_engine``
(``--nlu-url`` to use a running Rasa server instead of starting one).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import sys
import time
from collections import Counter
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import event, text

from bench.bench_store import DEFAULT_PG_SERVER, PG_SERVER_ENV, scratch_postgres, scratch_sqlite
from bench.report import percentile, write_section
from bot.classification import Classification, Classifier
from bot.engine import Engine
from bot.messages import SellerMessage
from frontdoor.settings import Settings
from frontdoor.wiring import Services, build_engine, build_services
from storage.database import READ_ONLY
from tests.fakes import FakeClassifier

SCRATCH = "fd_bench_engine"
RULES = {"never arrived": "shipping", "any update": "check_status", "warehouse": "shipping",
         "thanks": "thank", "hello": "greet"}
STEPS = ("greet", "describe (intake)", "press \"Open the case\"", "any update? (status)",
         "add a detail (follow-up)", "thanks")


def script(i: int) -> list[tuple[str, str]]:
    """One seller's conversation: (kind, text-or-payload); kind "text" or "button"."""
    order = f"{100 + i % 900:03d}-{1000000 + i:07d}-{2000000 + i:07d}"
    return [
        ("text", "hello"),
        ("text", f"my package to the buyer never arrived, tracking shows no movement for "
                 f"order {order}"),
        ("button", "ok"),
        ("text", "any update on my case?"),
        ("text", "I also checked with my warehouse and they shipped it on time"),
        ("text", "thanks!"),
    ]


def message(user: str, n: int, kind: str, value: str) -> SellerMessage:
    return SellerMessage(
        channel="console", user_id=user, event_id=f"{user}-{n}",
        text=value if kind == "text" else "Open the case",
        button=value if kind == "button" else None,
    )


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


class TimedClassifier:
    """Passes through to ``inner`` and notes when the last request left and its answer
    arrived."""

    def __init__(self, inner: Classifier) -> None:
        self.inner = inner
        self.asked_at: float | None = None
        self.answered_at: float | None = None

    async def classify(self, text: str) -> Classification:
        self.asked_at = time.perf_counter()
        result = await self.inner.classify(text)
        self.answered_at = time.perf_counter()
        return result


# Interleaved raw parse / end to end ------------------------------------------------------------
@dataclass
class Round:
    raw_ms: list[float] = field(default_factory=list)  # typed messages
    e2e_ms: list[float] = field(default_factory=list)  # typed messages, same order as raw_ms
    critical_ms: list[float] = field(default_factory=list)  # NLU answer -> handle returns
    inner_parse_ms: list[float] = field(default_factory=list)  # the parse inside handle
    finish_ms: list[float] = field(default_factory=list)  # the turn's last transaction

    @property
    def added_pct(self) -> float:
        raw = median(self.raw_ms)
        return 100 * (median(self.e2e_ms) - raw) / raw

    @property
    def paired_added_ms(self) -> float:
        return median([e - r for e, r in zip(self.e2e_ms, self.raw_ms, strict=True)])

    @property
    def critical_pct(self) -> float:
        return 100 * median(self.critical_ms) / median(self.raw_ms)


def time_last_transaction(engine: Engine) -> list[float]:
    """Times every `Engine._finish` (dialogue state and replies, one transaction) from now on;
    returns the list the durations (ms) are appended to."""
    durations: list[float] = []
    finish = engine._finish

    def timed_finish(*args: Any, **kwargs: Any) -> None:
        start = time.perf_counter()
        try:
            finish(*args, **kwargs)
        finally:
            durations.append((time.perf_counter() - start) * 1000)

    engine._finish = timed_finish  # type: ignore[method-assign]
    return durations


async def interleaved(engine: Engine, timed: TimedClassifier, rasa: Classifier,
                      users: list[str], finishes: list[float] | None = None) -> Round:
    result = Round()
    flip = False
    for i, user in enumerate(users):
        for n, (kind, value) in enumerate(script(i)):
            msg = message(user, n, kind, value)
            if kind != "text":
                await engine.handle(msg)
                continue
            flip = not flip
            if flip:
                raw = await _raw(rasa, value)
            timed.asked_at = timed.answered_at = None
            before = len(finishes) if finishes is not None else 0
            start = time.perf_counter()
            await engine.handle(msg)
            end = time.perf_counter()
            if finishes is not None and len(finishes) > before:
                result.finish_ms.append(finishes[-1])
            if not flip:
                raw = await _raw(rasa, value)
            result.raw_ms.append(raw)
            result.e2e_ms.append((end - start) * 1000)
            if timed.answered_at is not None and timed.asked_at is not None:
                result.critical_ms.append((end - timed.answered_at) * 1000)
                result.inner_parse_ms.append((timed.answered_at - timed.asked_at) * 1000)
    return result


async def _raw(rasa: Classifier, text: str) -> float:
    start = time.perf_counter()
    await rasa.classify(text)
    return (time.perf_counter() - start) * 1000


# Throughput runs -----------------------------------------------------------------------------
@dataclass
class Run:
    label: str
    text_ms: list[float] = field(default_factory=list)
    all_ms: list[float] = field(default_factory=list)
    wall_s: float = 0.0

    @property
    def rate(self) -> float:
        return len(self.all_ms) / self.wall_s if self.wall_s else float("nan")


def register_sellers(services: Services, prefix: str, count: int) -> list[str]:
    users = []
    for i in range(count):
        inv = services.cases.create_invitation(f"Bench {prefix} {i}")
        user = f"{prefix}-{i}"
        ident, _ = services.cases.identify("console", user)
        services.cases.register(ident.id, inv.code)
        users.append(user)
    return users


async def converse(engine: Engine, user: str, i: int, run: Run) -> None:
    for n, (kind, value) in enumerate(script(i)):
        start = time.perf_counter()
        await engine.handle(message(user, n, kind, value))
        ms = (time.perf_counter() - start) * 1000
        run.all_ms.append(ms)
        if kind == "text":
            run.text_ms.append(ms)


async def measure(engine: Engine, users: list[str], label: str, concurrency: int) -> Run:
    run = Run(label)
    start = time.perf_counter()
    if concurrency <= 1:
        for i, user in enumerate(users):
            await converse(engine, user, i, run)
    else:
        sem = asyncio.Semaphore(concurrency)

        async def one(i: int, user: str) -> None:
            async with sem:
                await converse(engine, user, i, run)

        await asyncio.gather(*(one(i, u) for i, u in enumerate(users)))
    run.wall_s = time.perf_counter() - start
    return run


# Statements per message ----------------------------------------------------------------------
@dataclass
class Counts:
    """Per step of the script, summed over the sellers: SQL statements sent (BEGIN, COMMIT
    and ROLLBACK not included), write transactions, read-only units of work, pool checkouts."""

    statements: Counter[int] = field(default_factory=Counter)
    writes: Counter[int] = field(default_factory=Counter)
    reads: Counter[int] = field(default_factory=Counter)
    checkouts: Counter[int] = field(default_factory=Counter)
    sellers: int = 0


async def count_statements(services: Services, engine: Engine, users: list[str]) -> Counts:
    counts = Counts(sellers=len(users))
    step = [0]
    sa_engine = services.database.engine

    def on_execute(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.split(None, 1)[0].upper() not in ("BEGIN", "COMMIT", "ROLLBACK"):
            counts.statements[step[0]] += 1

    def on_begin(conn: Any) -> None:
        read_only = conn.get_execution_options().get(READ_ONLY, False)
        (counts.reads if read_only else counts.writes)[step[0]] += 1

    def on_checkout(*_args: Any) -> None:
        counts.checkouts[step[0]] += 1

    event.listen(sa_engine, "before_cursor_execute", on_execute)
    event.listen(sa_engine, "begin", on_begin)
    event.listen(sa_engine.pool, "checkout", on_checkout)
    try:
        for i, user in enumerate(users):
            for n, (kind, value) in enumerate(script(i)):
                step[0] = n
                await engine.handle(message(user, n, kind, value))
    finally:
        event.remove(sa_engine, "before_cursor_execute", on_execute)
        event.remove(sa_engine, "begin", on_begin)
        event.remove(sa_engine.pool, "checkout", on_checkout)
    return counts


# Baselines of the database server -------------------------------------------------------------
def baselines(services: Services, reps: int = 200) -> tuple[float, float]:
    """p50 ms of one round trip (``SELECT 1``) and of one write transaction (BEGIN, a one-row
    INSERT, COMMIT) through the same engine."""
    engine = services.database.engine
    rtt, write = [], []
    with engine.connect() as conn:
        for _ in range(reps):
            start = time.perf_counter()
            conn.execute(text("SELECT 1"))
            rtt.append((time.perf_counter() - start) * 1000)
        conn.rollback()
    now = services.clock.now()
    for i in range(reps):
        start = time.perf_counter()
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO processed_events (source, event_id, created_at) "
                              "VALUES ('bench', :e, :now)"), {"e": f"baseline-{i}", "now": now})
        write.append((time.perf_counter() - start) * 1000)
    return median(rtt), median(write)


# One database --------------------------------------------------------------------------------
@dataclass
class Result:
    name: str
    rounds: list[Round] = field(default_factory=list)
    runs: list[Run] = field(default_factory=list)
    counts: Counts | None = None
    round_trip_ms: float = float("nan")
    write_ms: float = float("nan")


async def bench_database(name: str, url: str, rasa: Classifier | None, sellers: int,
                         rounds: int, concurrency: int) -> Result:
    services = build_services(Settings(frontdoor_database_url=url))
    result = Result(name)
    try:
        fake = build_engine(services, FakeClassifier(dict(RULES), default=None))
        await measure(fake, register_sellers(services, f"{name}-warm", 3), "warm-up", 1)
        result.counts = await count_statements(services, fake,
                                               register_sellers(services, f"{name}-count", 3))
        result.runs.append(await measure(fake, register_sellers(services, f"{name}-fake", sellers),
                                         f"{name}: engine + fake classifier", 1))
        if rasa is not None:
            timed = TimedClassifier(rasa)
            real = build_engine(services, timed)
            finishes = time_last_transaction(real)
            await interleaved(real, timed, rasa, register_sellers(services, f"{name}-rwarm", 2))
            for r in range(rounds):
                users = register_sellers(services, f"{name}-r{r}", sellers)
                result.rounds.append(await interleaved(real, timed, rasa, users, finishes))
            result.round_trip_ms, result.write_ms = baselines(services)
            users = register_sellers(services, f"{name}-conc", sellers)
            result.runs.append(await measure(
                real, users, f"{name}: engine + Rasa, {concurrency} sellers at once", concurrency))
        users = register_sellers(services, f"{name}-fconc", sellers)
        result.runs.append(await measure(
            fake, users, f"{name}: engine + fake, {concurrency} sellers at once", concurrency))
    finally:
        services.database.dispose()
    return result


# Report --------------------------------------------------------------------------------------
def _f(value: float) -> str:
    return f"{value:.2f}"


def run_row(run: Run) -> str:
    def fmt(values: list[float], pct: float) -> str:
        return _f(percentile(values, pct)) if values else "—"

    return (f"| {run.label} | {run.rate:,.0f} | {fmt(run.all_ms, 50)} | {fmt(run.all_ms, 99)} | "
            f"{fmt(run.text_ms, 50)} | {fmt(run.text_ms, 99)} |")


def _round_cells(raw: float, inner: float, e2e: float, added: float, pct: float,
                 critical: float, critical_pct: float) -> str:
    return (f"{_f(raw)} | {_f(inner)} | {_f(e2e)} | {_f(added)} | **{pct:.0f}%** | "
            f"{_f(critical)} | {critical_pct:.0f}%")


def round_rows(res: Result) -> list[str]:
    rows = []
    for n, r in enumerate(res.rounds, 1):
        cells = _round_cells(median(r.raw_ms), median(r.inner_parse_ms), median(r.e2e_ms),
                             r.paired_added_ms, r.added_pct, median(r.critical_ms),
                             r.critical_pct)
        rows.append(f"| {res.name} | {n} | {len(r.raw_ms)} | {cells} | "
                    f"{_f(percentile(r.raw_ms, 99))} | {_f(percentile(r.e2e_ms, 99))} |")
    if len(res.rounds) > 1:
        rs = res.rounds
        cells = _round_cells(
            median([median(r.raw_ms) for r in rs]), median([median(r.inner_parse_ms) for r in rs]),
            median([median(r.e2e_ms) for r in rs]), median([r.paired_added_ms for r in rs]),
            median([r.added_pct for r in rs]), median([median(r.critical_ms) for r in rs]),
            median([r.critical_pct for r in rs]))
        rows.append(f"| {res.name} | median | {sum(len(r.raw_ms) for r in rs)} | {cells} "
                    "| — | — |")
    return rows


def count_rows(res: Result) -> list[str]:
    c = res.counts
    if c is None or not c.sellers:
        return []
    rows = []
    for n, label in enumerate(STEPS):
        rows.append(f"| {res.name} | {label} | {c.statements[n] / c.sellers:g} | "
                    f"{c.writes[n] / c.sellers:g} | {c.reads[n] / c.sellers:g} | "
                    f"{c.checkouts[n] / c.sellers:g} |")
    total = [sum(x.values()) / c.sellers for x in (c.statements, c.writes, c.reads, c.checkouts)]
    rows.append(f"| {res.name} | **the 6 messages** | **{total[0]:g}** | {total[1]:g} | "
                f"{total[2]:g} | {total[3]:g} |")
    return rows


def verdict(res: Result) -> str:
    rs = res.rounds
    if not rs:
        return f"- **{res.name}**: Rasa was not measured in this run."
    pct = median([r.added_pct for r in rs])
    raw = median([median(r.raw_ms) for r in rs])
    inner = median([median(r.inner_parse_ms) for r in rs])
    e2e = median([median(r.e2e_ms) for r in rs])
    critical = median([median(r.critical_ms) for r in rs])
    finish = median([median(r.finish_ms) for r in rs])
    per_round = ", ".join(f"{r.added_pct:.0f}%" for r in rs)
    return (f"- **{res.name}**: raw parse p50 {raw:.2f} ms, end to end p50 {e2e:.2f} ms: the "
            f"engine adds **{pct:.0f}%** at p50 (rounds: {per_round}); target < 20% "
            f"(≤ {0.2 * raw:.2f} ms here): **{'met' if pct < 20 else 'NOT met'}**. Of the "
            f"{e2e - raw:.2f} ms, the parse itself is {inner - raw:.2f} ms slower inside the "
            f"engine (the first transaction shares the CPUs with Rasa) and the critical path "
            f"after the answer is {critical:.2f} ms ({100 * critical / raw:.0f}% of the parse), "
            f"of which the turn's last transaction (dialogue state and replies, committed "
            f"together) takes {finish:.2f} ms p50. This database, same run: one round trip "
            f"(`SELECT 1`) {res.round_trip_ms:.3f} ms, one write transaction (BEGIN, one-row "
            f"INSERT, COMMIT) {res.write_ms:.3f} ms p50.")


def why_missed(results: list[Result]) -> str:
    """The reason, in this run's numbers, for a database that misses the target."""
    parse = median([median(r.raw_ms) for res in results for r in res.rounds])
    parts = []
    for res in results:
        raw = median([median(r.raw_ms) for r in res.rounds])
        finish = median([median(r.finish_ms) for r in res.rounds])
        parts.append(f"{res.name} {finish:.2f} ms, {100 * finish / (0.2 * raw):.0f}% of its "
                     f"20% budget (a bare one-row write transaction: {res.write_ms:.2f} ms)")
    return (
        f"Why the target is missed: Rasa parses these short texts in about {parse:.1f} ms "
        f"here, so 20% is about {0.2 * parse:.1f} ms. After the NLU answer a typed message "
        "needs at least the turn's last transaction (the dialogue state and the replies, "
        "committed together: BEGIN, upsert, outbox insert, COMMIT), and messages that look up "
        "cases (intake, status) a read before it. The last transaction alone takes "
        + "; ".join(parts)
        + ". On PostgreSQL each statement is a network round trip and the COMMIT waits for "
        "the WAL flush (`synchronous_commit=on`). On top, the turn's first transaction "
        "(claim, identity and dialogue in one query) runs while Rasa parses and shares the "
        "2 CPUs with it, which slows the parse (the *parse inside the engine* column). The "
        "ratio depends on the parse time: the same engine milliseconds are a smaller fraction "
        "of a slower parse (a bigger model, longer texts)."
    )


def report(results: list[Result], command: str, total_s: float, sellers: int, rounds: int,
           concurrency: int, load_start: tuple[float, ...], load_end: tuple[float, ...]) -> str:
    lines = [
        "## Conversational engine (`bench/bench_engine.py`)",
        "",
        f"Command: `{command}` (total {total_s:.0f} s).",
        "",
        f"- CPUs (nproc): {os.cpu_count()}; load average at start "
        f"{' '.join(f'{x:.2f}' for x in load_start)}, at end "
        f"{' '.join(f'{x:.2f}' for x in load_end)}",
        f"- Python {platform.python_version()} on {platform.platform()}",
        "",
        "Every seller runs the same 6-message conversation (greet, describe a lost parcel with "
        "its order id, press \"Open the case\", ask for an update, add a detail, thank): 5 typed "
        "messages and 1 button press. Latency is `Engine.handle` from call to return "
        "(dialogue, case rules, storage, outbox; replies are queued, not delivered).",
        "",
        "### Engine vs raw Rasa parse, interleaved",
        "",
        f"{rounds} round(s) of {sellers} sellers per database. For each typed message the raw "
        "parse of its text (same HTTP client) and the engine end to end are measured back to "
        "back, alternating which goes first. *added* = median over messages of (end to end − "
        "raw parse) of the same message; *added %* = (end-to-end p50 − raw p50) / raw p50, the "
        "target figure. *parse inside the engine* = the same parse timed inside `handle`, where "
        "the engine's first transaction runs beside it. *critical path* = from the NLU "
        "answer's arrival to `handle` returning.",
        "",
        "| database | round | typed msgs | raw parse p50 ms | parse inside the engine p50 ms "
        "| end to end p50 ms | added p50 ms | added % | critical path p50 ms "
        "| critical % of parse | raw p99 ms | e2e p99 ms |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for res in results:
        lines += round_rows(res)
    lines += ["", *[verdict(r) for r in results], ""]
    missed = [r for r in results if r.rounds and median([x.added_pct for x in r.rounds]) >= 20]
    if missed:
        lines += [why_missed(missed), ""]
    lines += [
        "### Statements per message (fake classifier)",
        "",
        "Per message of the conversation, averaged over 3 sellers: SQL statements sent (a "
        "`before_cursor_execute` listener; BEGIN, COMMIT and ROLLBACK not counted), write "
        "transactions, read-only units of work and pool checkouts. On PostgreSQL each write "
        "transaction also costs a BEGIN and a COMMIT round trip (read-only units run in "
        "autocommit: none); an outbox insert carries the `NOTIFY` for other processes.",
        "",
        "| database | message | statements | write transactions | read-only units | "
        "checkouts |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for res in results:
        lines += count_rows(res)
    lines += [
        "",
        "### Throughput",
        "",
        f"{sellers} sellers per row. *typed* columns count only typed messages.",
        "",
        "| run | msgs/s | p50 ms | p99 ms | typed p50 ms | typed p99 ms |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for res in results:
        lines += [run_row(r) for r in res.runs]
    return "\n".join(lines)


async def amain(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    load_start = os.getloadavg()
    results: list[Result] = []
    with ExitStack() as stack:
        rasa: Classifier | None = None
        client = None
        if not args.no_rasa:
            from nlu.client import RasaClassifier
            from nlu.server import nlu_service

            settings = Settings()
            url = stack.enter_context(nlu_service(args.nlu_url or settings.frontdoor_nlu_url,
                                                  settings.frontdoor_cache_dir))
            client = RasaClassifier(url, timeout=10.0)
            rasa = client
        if not args.no_sqlite:
            sqlite_url = stack.enter_context(scratch_sqlite())
            results.append(await bench_database("SQLite", sqlite_url, rasa, args.sellers,
                                                args.rounds, args.concurrency))
        if not args.no_postgres:
            pg_url = stack.enter_context(scratch_postgres(args.pg_server, SCRATCH))
            results.append(await bench_database("PostgreSQL", pg_url, rasa, args.sellers,
                                                args.rounds, args.concurrency))
        if client is not None:
            await client.aclose()
    command = ".venv/bin/python -m bench.bench_engine" + (
        " " + " ".join(args.argv) if args.argv else "")
    markdown = report(results, command, time.perf_counter() - started, args.sellers,
                      args.rounds, args.concurrency, load_start, os.getloadavg())
    print(markdown)
    if args.write:
        write_section("engine", markdown)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_engine", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sellers", type=int, default=30, help="sellers per round and row")
    parser.add_argument("--rounds", type=int, default=3,
                        help="interleaved rounds per database (fresh sellers each)")
    parser.add_argument("--concurrency", type=int, default=8, help="sellers at once")
    parser.add_argument("--quick", action="store_true", help="5 sellers, 1 round (smoke test)")
    parser.add_argument("--no-rasa", action="store_true", help="fake classifier only")
    parser.add_argument("--nlu-url", default=None, help="a running Rasa server")
    parser.add_argument("--no-sqlite", action="store_true", help="PostgreSQL only")
    parser.add_argument("--no-postgres", action="store_true", help="SQLite only")
    parser.add_argument("--pg-server", default=os.environ.get(PG_SERVER_ENV, DEFAULT_PG_SERVER))
    parser.add_argument("--write", action=argparse.BooleanOptionalAction, default=None,
                        help="write docs/benchmarks.md (default: yes unless --quick)")
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(argv)
    args.argv = argv
    if args.quick:
        args.sellers, args.rounds = 5, 1
    if args.write is None:
        args.write = not args.quick
    return asyncio.run(amain(args))


if __name__ == "__main__":
    sys.exit(main())
