"""Part 1 of the case store benchmark: operations per second of `CaseService.open_case` +
`CaseService.add_seller_message` on N threads, against a bare ``SELECT 1`` and a bare one-row
INSERT through the same engine; and the service and sellers both parts run on."""

from __future__ import annotations

import itertools
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import Engine, insert, text

from bench.store_sizes import Sizes
from bench.store_timing import Measured, run_threads
from bot.cases import CaseRules, CaseService
from bot.labels import CASE_TYPES
from bot.relay import Relay, RelayConfig
from storage.database import Database
from storage.models import ProcessedEventRow
from storage.uow import SqlUnitOfWorkFactory


def make_service(db: Database) -> CaseService:
    """The service as production wires it with Slack configured (outbox items are written).

    The daily case cap is lifted: the benchmark opens many cases per seller on purpose.
    """
    relay = Relay(RelayConfig(agents_destination="slack", channel_for=lambda _t: "C_BENCH"))
    return CaseService(SqlUnitOfWorkFactory(db, "CX"), relay, CaseRules(daily_case_cap=10**9))


def register_sellers(service: CaseService, count: int) -> list[tuple[int, int]]:
    """Register ``count`` sellers the way users do; returns (seller id, identity id) pairs."""
    out = []
    for k in range(count):
        inv = service.create_invitation(f"Bench seller {k}")
        ident, _ = service.identify("console", f"bench-{k}-{uuid.uuid4().hex[:8]}")
        seller = service.register(ident.id, inv.code)
        out.append((seller.id, ident.id))
    return out


@dataclass
class OpsResult:
    """Part 1 on one database and thread count."""

    threads: int
    pair: Measured = field(default_factory=Measured)  # ops/s counts both calls of a pair
    open_case: Measured = field(default_factory=Measured)
    add_message: Measured = field(default_factory=Measured)
    select1: Measured = field(default_factory=Measured)
    insert1: Measured = field(default_factory=Measured)


def select1_baseline(db: Database) -> Callable[[int, int], dict[str, float]]:
    """A bare read with the app's read-only options: on SQLite a plain BEGIN (a reader, no
    write lock, so it never queues behind writers), on PostgreSQL autocommit."""
    engine, options = db.engine, db.read_only_options

    def op(_t: int, _i: int) -> dict[str, float]:
        start = time.perf_counter()
        with engine.connect().execution_options(**options) as conn:
            conn.execute(text("SELECT 1")).scalar()
        return {"select1": time.perf_counter() - start}

    return op


def _insert1(engine: Engine) -> Callable[[int, int], dict[str, float]]:
    def op(_t: int, _i: int) -> dict[str, float]:
        row = {"source": "bench", "event_id": uuid.uuid4().hex, "created_at": datetime.now(UTC)}
        start = time.perf_counter()
        with engine.begin() as conn:
            conn.execute(insert(ProcessedEventRow).values(**row))
        return {"insert1": time.perf_counter() - start}

    return op


def _open_and_message(service: CaseService,
                      sellers: Sequence[tuple[int, int]]) -> Callable[[int, int], dict[str, float]]:
    counter = itertools.count()

    def op(t: int, i: int) -> dict[str, float]:
        n = next(counter)
        seller_id, identity_id = sellers[n % len(sellers)]
        case_type = CASE_TYPES[n % len(CASE_TYPES)]
        t0 = time.perf_counter()
        result = service.open_case(seller_id, case_type, f"Order problem number {n}, please help",
                                   order_id=f"BENCH-{n}", identity_id=identity_id)
        t1 = time.perf_counter()
        if not result.created:
            raise AssertionError(f"open_case did not create a case for the new issue {n}")
        service.add_seller_message(seller_id, result.case.number, f"More details for {n}")
        t2 = time.perf_counter()
        return {"open": t1 - t0, "message": t2 - t1}

    return op


def measure_ops(db: Database, sizes: Sizes, threads: int) -> OpsResult:
    """Part 1 on ``db`` (migrated) with ``threads`` threads; repetitions interleave the
    baselines with the service calls so that machine noise hits all of them alike."""
    service = make_service(db)
    sellers = register_sellers(service, max(threads, 4))
    pair_op = _open_and_message(service, sellers)
    select_op, insert_op = select1_baseline(db), _insert1(db.engine)
    per_thread = max(1, sizes.pairs // threads)
    base_per_thread = per_thread * 2
    res = OpsResult(threads)
    # Warm-up: pool connections, statement caches, psycopg's prepared statements.
    run_threads(pair_op, 5, threads)
    run_threads(select_op, 5, threads)
    run_threads(insert_op, 5, threads)
    for _ in range(sizes.reps):
        wall, lat = run_threads(select_op, base_per_thread, threads)
        res.select1.add(base_per_thread * threads, wall, lat["select1"])
        wall, lat = run_threads(insert_op, base_per_thread, threads)
        res.insert1.add(base_per_thread * threads, wall, lat["insert1"])
        wall, lat = run_threads(pair_op, per_thread, threads)
        pairs = per_thread * threads
        res.pair.add(2 * pairs, wall, [a + b for a, b in zip(lat["open"], lat["message"],
                                                             strict=True)])
        res.open_case.add(pairs, wall, lat["open"])
        res.add_message.add(pairs, wall, lat["message"])
    return res
