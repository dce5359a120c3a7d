"""What `bench.bench_engine` measures, one function per figure: the engine's critical path
after the NLU answers, its own cost with a fake classifier, the app's NLU client against a bare
HTTP POST, the prefetch yields A/B, statements per message, and the database baselines."""

from __future__ import annotations

import asyncio
import statistics
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
from sqlalchemy import event, text

from bot.classification import Classification, Classifier
from bot.engine import Engine
from bot.messages import SellerMessage
from frontdoor.wiring import Services
from storage.database import READ_ONLY

RULES = {"never arrived": "shipping", "any update": "check_status", "warehouse": "shipping",
         "thanks": "thank", "hello": "greet"}
STEPS = ("greet", "describe (intake)", "press \"Open the case\"", "any update? (status)",
         "add a detail (follow-up)", "thanks")
PREFETCH_YIELDS = 4  # what the engine did before its first transaction, for the A/B


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


def register_sellers(services: Services, prefix: str, count: int) -> list[str]:
    users = []
    for i in range(count):
        inv = services.cases.create_invitation(f"Bench {prefix} {i}")
        user = f"{prefix}-{i}"
        ident, _ = services.cases.identify("console", user)
        services.cases.register(ident.id, inv.code)
        users.append(user)
    return users


class TimedClassifier:
    """Passes through to ``inner`` and notes when the last answer arrived."""

    def __init__(self, inner: Classifier) -> None:
        self.inner = inner
        self.answered_at: float | None = None

    async def classify(self, text: str) -> Classification:
        result = await self.inner.classify(text)
        self.answered_at = time.perf_counter()
        return result


def with_prefetch_yields(engine: Engine) -> Engine:
    """``engine`` yielding to the event loop ``PREFETCH_YIELDS`` times before its first
    transaction, as it did before (so the NLU request leaves before the worker thread
    starts): variant B of the A/B."""
    turn = engine._turn

    async def yielding_turn(*args: Any, **kwargs: Any) -> Any:
        for _ in range(PREFETCH_YIELDS):
            await asyncio.sleep(0)
        return await turn(*args, **kwargs)

    engine._turn = yielding_turn  # type: ignore[method-assign]
    return engine


# Real Rasa: critical path and end to end ------------------------------------------------------
@dataclass
class Round:
    """One repetition with the real NLU, on one database."""

    critical_ms: dict[int, list[float]] = field(default_factory=dict)  # step -> NLU answer -> return
    e2e_ms: list[float] = field(default_factory=list)
    e2e_yield_ms: list[float] = field(default_factory=list)  # variant B of the A/B
    critical_yield_ms: list[float] = field(default_factory=list)
    write_ms: float = float("nan")  # bare durable write transaction, p50, this round
    select_ms: float = float("nan")  # bare read round trip, p50, this round

    def critical(self) -> list[float]:
        return [v for values in self.critical_ms.values() for v in values]


async def real_round(engine: Engine, timed: TimedClassifier, yielding: Engine,
                     timed_yield: TimedClassifier, users: list[str]) -> Round:
    """Every seller's conversation, sellers alternating between the engine as it is and the
    one with the prefetch yields (A/B in the same process, interleaved)."""
    result = Round()
    for i, user in enumerate(users):
        b = i % 2 == 1
        current, clock = (yielding, timed_yield) if b else (engine, timed)
        for n, (kind, value) in enumerate(script(i)):
            clock.answered_at = None
            start = time.perf_counter()
            await current.handle(message(user, n, kind, value))
            end = time.perf_counter()
            if kind != "text" or clock.answered_at is None:
                continue
            critical = (end - clock.answered_at) * 1000
            (result.e2e_yield_ms if b else result.e2e_ms).append((end - start) * 1000)
            if b:
                result.critical_yield_ms.append(critical)
            else:
                result.critical_ms.setdefault(n, []).append(critical)
    return result


# The NLU client against a bare POST -------------------------------------------------------------
@dataclass
class ClientOverhead:
    bare_ms: list[float] = field(default_factory=list)
    client_ms: list[float] = field(default_factory=list)

    def paired_ms(self) -> float:
        return median([c - b for c, b in zip(self.client_ms, self.bare_ms, strict=True)])


async def client_overhead(url: str, client: Classifier, texts: list[str]) -> ClientOverhead:
    """Each text parsed by a bare ``POST /model/parse`` (a plain httpx client) and by the app's
    client, back to back, alternating which goes first."""
    result = ClientOverhead()
    async with httpx.AsyncClient(timeout=30) as http:
        async def bare(t: str) -> float:
            start = time.perf_counter()
            response = await http.post(f"{url}/model/parse", json={"text": t})
            response.json()
            return (time.perf_counter() - start) * 1000

        async def app(t: str) -> float:
            start = time.perf_counter()
            await client.classify(t)
            return (time.perf_counter() - start) * 1000

        await bare(texts[0])  # connections open
        for i, t in enumerate(texts):
            first, second = (bare, app) if i % 2 else (app, bare)
            a = await first(t)
            b = await second(t)
            result.bare_ms.append(a if first is bare else b)
            result.client_ms.append(b if first is bare else a)
    return result


# Fake classifier: the engine's own cost ---------------------------------------------------------
@dataclass
class Run:
    label: str
    text_ms: list[float] = field(default_factory=list)
    all_ms: list[float] = field(default_factory=list)
    wall_s: float = 0.0

    @property
    def rate(self) -> float:
        return len(self.all_ms) / self.wall_s if self.wall_s else float("nan")


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
    sem = asyncio.Semaphore(max(1, concurrency))

    async def one(i: int, user: str) -> None:
        async with sem:
            await converse(engine, user, i, run)

    if concurrency <= 1:
        for i, user in enumerate(users):
            await converse(engine, user, i, run)
    else:
        await asyncio.gather(*(one(i, u) for i, u in enumerate(users)))
    run.wall_s = time.perf_counter() - start
    return run


# Statements per message ---------------------------------------------------------------------------
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

    listeners: list[tuple[Any, str, Callable[..., None]]] = [
        (sa_engine, "before_cursor_execute", on_execute), (sa_engine, "begin", on_begin),
        (sa_engine.pool, "checkout", on_checkout)]
    for target, name, fn in listeners:
        event.listen(target, name, fn)
    try:
        for i, user in enumerate(users):
            for n, (kind, value) in enumerate(script(i)):
                step[0] = n
                await engine.handle(message(user, n, kind, value))
    finally:
        for target, name, fn in listeners:
            event.remove(target, name, fn)
    return counts


# Database baselines -------------------------------------------------------------------------------
def baselines(services: Services, reps: int = 200) -> tuple[float, float]:
    """p50 ms of a bare read (``SELECT 1`` with the app's read-only options: on SQLite a
    plain BEGIN, no write lock; on PostgreSQL autocommit) and of a bare durable write
    transaction (BEGIN, one-row INSERT, COMMIT), through the same engine and pool as the
    app, a connection checked out for each, as the app's units of work do."""
    engine = services.database.engine
    reads, writes = [], []
    for _ in range(reps):
        start = time.perf_counter()
        with engine.connect().execution_options(**services.database.read_only_options) as conn:
            conn.execute(text("SELECT 1"))
        reads.append((time.perf_counter() - start) * 1000)
    now = services.clock.now()
    stamp = time.monotonic_ns()
    for i in range(reps):
        start = time.perf_counter()
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO processed_events (source, event_id, created_at) "
                              "VALUES ('bench', :e, :now)"), {"e": f"baseline-{stamp}-{i}",
                                                              "now": now})
        writes.append((time.perf_counter() - start) * 1000)
    return median(reads), median(writes)

