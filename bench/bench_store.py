"""Case store benchmark (issue 2): write throughput and the active-case lookup at 1,000,000 cases.

Part 1 measures `CaseService.open_case` + `CaseService.add_seller_message` (the real service
layer, one transaction per call, outbox items included) on SQLite (temp file, WAL) and on
PostgreSQL (a scratch database created here and dropped at the end), single-threaded and with
N threads, against two baselines measured through the same engine in the same run: a bare
``SELECT 1`` round trip and a bare one-row INSERT in its own transaction.

Part 2 bulk-loads cases (SQL-side generation: ``generate_series`` on PostgreSQL, a recursive
CTE on SQLite) and times `CaseService.find_active_case` with 10,000 and with 1,000,000 cases in
the table; the ratio must stay near 1. The lookup query the repository really emits is captured
and EXPLAINed; the run fails loudly when it is not answered from an index.

Run: ``.venv/bin/python -m bench.bench_store`` (``--quick`` for a seconds-long smoke run).
"""

from __future__ import annotations

import argparse
import itertools
import os
import platform
import random
import re
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import psycopg
import sqlalchemy
from psycopg import sql as pgsql
from sqlalchemy import Engine, create_engine, event, insert, text
from sqlalchemy.engine import make_url

from bench.report import percentile, write_section
from bot.cases import CaseRules, CaseService
from bot.labels import CASE_TYPES
from bot.relay import Relay, RelayConfig
from storage.database import Database
from storage.migrate import upgrade
from storage.models import Base, ProcessedEventRow
from storage.repositories import SqlCaseRepository
from storage.uow import SqlUnitOfWorkFactory

COMMAND = ".venv/bin/python -m bench.bench_store"
PG_SERVER_ENV = "FRONTDOOR_BENCH_PG_URL"
DEFAULT_PG_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
SCRATCH_PREFIX = "fd_bench_"
DEFAULT_SCRATCH = "fd_bench_store"
ISSUE_INDEXES = frozenset({"ix_cases_issue", "uq_cases_active_issue"})


# Sizes ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Sizes:
    """How much work each part does; the defaults finish in a few minutes on 2 cores."""

    pairs: int = 200  # open + message pairs per repetition (split over the threads)
    threads: int = 8
    reps: int = 5
    small: int = 10_000
    big: int = 1_000_000
    lookups: int = 1_000  # find_active calls per repetition and size
    lookup_reps: int = 3
    sellers: int = 50_000  # sellers the bulk-loaded cases are spread over


QUICK = Sizes(pairs=8, threads=2, reps=2, small=300, big=3_000, lookups=40, lookup_reps=2,
              sellers=100)


# Statistics -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Run:
    """One repetition of one measurement: throughput and latency percentiles."""

    ops_per_s: float
    p50_ms: float
    p99_ms: float


@dataclass
class Measured:
    """Repetitions of one measurement; the report shows medians over them."""

    runs: list[Run] = field(default_factory=list)

    def add(self, ops: int, wall_s: float, latencies_s: Sequence[float]) -> None:
        lat = list(latencies_s)
        self.runs.append(Run(ops / wall_s if wall_s > 0 else float("inf"),
                             percentile(lat, 50) * 1000, percentile(lat, 99) * 1000))

    @property
    def ops_per_s(self) -> float:
        return statistics.median(r.ops_per_s for r in self.runs)

    @property
    def p50_ms(self) -> float:
        return statistics.median(r.p50_ms for r in self.runs)

    @property
    def p99_ms(self) -> float:
        return statistics.median(r.p99_ms for r in self.runs)


def run_threads(op: Callable[[int, int], dict[str, float]], per_thread: int,
                threads: int) -> tuple[float, dict[str, list[float]]]:
    """Run ``op(thread, i)`` ``per_thread`` times on each of ``threads`` threads.

    ``op`` returns the latencies (seconds) of what it timed, by name. Returns the wall time
    from the common start to the last thread's end, and all latencies by name.
    """
    barrier = threading.Barrier(threads + 1)
    results: list[dict[str, list[float]]] = [{} for _ in range(threads)]
    errors: list[BaseException] = []

    def worker(t: int) -> None:
        barrier.wait()
        try:
            for i in range(per_thread):
                for name, seconds in op(t, i).items():
                    results[t].setdefault(name, []).append(seconds)
        except BaseException as exc:  # re-raised in the caller's thread
            errors.append(exc)

    pool = [threading.Thread(target=worker, args=(t,), daemon=True) for t in range(threads)]
    for th in pool:
        th.start()
    barrier.wait()
    start = time.perf_counter()
    for th in pool:
        th.join()
    wall = time.perf_counter() - start
    if errors:
        raise errors[0]
    merged: dict[str, list[float]] = {}
    for res in results:
        for name, values in res.items():
            merged.setdefault(name, []).extend(values)
    return wall, merged


# Databases --------------------------------------------------------------------------------------
@contextmanager
def scratch_sqlite() -> Iterator[str]:
    """A migrated SQLite file in a temporary directory (removed afterwards)."""
    with tempfile.TemporaryDirectory(prefix="fd_bench_") as tmp:
        url = f"sqlite:///{tmp}/bench.db"
        upgrade(url)
        yield url


@contextmanager
def scratch_postgres(server_url: str, name: str = DEFAULT_SCRATCH) -> Iterator[str]:
    """Create database ``name`` on the server of ``server_url``, migrate it, drop it after.

    Only databases named ``fd_bench_*`` are ever created or dropped, so nothing else on the
    server can be touched.
    """
    if not re.fullmatch(SCRATCH_PREFIX + r"[a-z0-9_]+", name):
        raise ValueError(f"scratch database names must match {SCRATCH_PREFIX}[a-z0-9_]+: {name!r}")
    url = make_url(server_url)
    admin = create_engine(url, isolation_level="AUTOCOMMIT", poolclass=sqlalchemy.pool.NullPool)
    try:
        with admin.connect() as conn:
            # A leftover from an interrupted run of this benchmark (ours by its name).
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        scratch = url.set(database=name).render_as_string(hide_password=False)
        try:
            upgrade(scratch)
            yield scratch
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


def truncate_all(db: Database) -> None:
    """Empty every table of a scratch database (between the two parts)."""
    names = [t.name for t in reversed(Base.metadata.sorted_tables)]
    with db.engine.begin() as conn:
        if db.dialect == "postgresql":
            joined = ", ".join(f'"{n}"' for n in names)
            conn.execute(text(f"TRUNCATE {joined} RESTART IDENTITY CASCADE"))
        else:
            for n in names:
                conn.execute(text(f'DELETE FROM "{n}"'))


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


# Part 1: operations per second ------------------------------------------------------------------
@dataclass
class OpsResult:
    """Part 1 on one database and thread count."""

    threads: int
    pair: Measured = field(default_factory=Measured)  # ops/s counts both calls of a pair
    open_case: Measured = field(default_factory=Measured)
    add_message: Measured = field(default_factory=Measured)
    select1: Measured = field(default_factory=Measured)
    insert1: Measured = field(default_factory=Measured)


def _select1(db: Database) -> Callable[[int, int], dict[str, float]]:
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
    select_op, insert_op = _select1(db), _insert1(db.engine)
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


# Part 2: the active-case lookup -----------------------------------------------------------------
# Bulk rows are a pure function of their index i, so Python knows which issues exist:
#   order  = i // 3 (three cases per order, of three different types)
#   seller = hash(order) % sellers  (an order belongs to one seller)
#   type   = CASE_TYPES[(7 i) % 10]
#   status = by i % 100: 1-4 open, 5-8 investigating, 9-10 pending, 11-12 resolved,
#            13-15 declined, else closed; i % 100 in {0, 50}: closed with no order id.
_HASH = 2654435761


def issue_of(i: int, seller_base: int, sellers: int) -> tuple[int, str, str | None, str]:
    """(seller id, case type, order id, status) of bulk row ``i``."""
    b = i % 100
    status = ("closed" if b == 0 or b > 15 else "open" if b <= 4 else "investigating" if b <= 8
              else "pending" if b <= 10 else "resolved" if b <= 12 else "declined")
    order = None if b in (0, 50) else f"ORD-{i // 3}"
    seller = seller_base + 1 + ((i // 3) * _HASH) % sellers
    return seller, CASE_TYPES[(7 * i) % len(CASE_TYPES)], order, status


def _bulk_sql(dialect: str) -> tuple[str, str, str]:
    """(merchants+sellers SQL, cases SQL, series) for ``dialect``; :a..:b is the index range."""
    types = " ".join(f"WHEN {k} THEN '{name}'" for k, name in enumerate(CASE_TYPES))
    status = ("CASE WHEN i % 100 BETWEEN 1 AND 4 THEN 'open' "
              "WHEN i % 100 BETWEEN 5 AND 8 THEN 'investigating' "
              "WHEN i % 100 BETWEEN 9 AND 10 THEN 'pending' "
              "WHEN i % 100 BETWEEN 11 AND 12 THEN 'resolved' "
              "WHEN i % 100 BETWEEN 13 AND 15 THEN 'declined' ELSE 'closed' END")
    order = "CASE WHEN i % 100 IN (0, 50) THEN '' ELSE 'ORD-' || (i / 3) END"
    if dialect == "postgresql":
        series = "(SELECT g AS i FROM generate_series(CAST(:a AS bigint), CAST(:b AS bigint)) AS g)"
        ts = "now() - make_interval(days => CAST(1 + i % 700 AS int))"
        true = "true"
    else:
        series = ("(WITH RECURSIVE s(i) AS (SELECT :a UNION ALL SELECT i + 1 FROM s WHERE i < :b) "
                  "SELECT i FROM s)")
        ts = "datetime('now', '-' || (1 + i % 700) || ' days')"
        true = "1"
    now = "now()" if dialect == "postgresql" else "datetime('now')"
    people = (
        f"INSERT INTO merchants (id, name, created_at) SELECT i, 'Merchant ' || i, {now} "
        f"FROM {series} AS x;"
        f"INSERT INTO sellers (id, merchant_id, display_name, is_main, created_at) "
        f"SELECT i, i, 'Seller ' || i, {true}, {now} FROM {series} AS x"
    )
    cases = (
        "INSERT INTO cases (number, seller_id, case_type, order_key, title, status, created_at, "
        "updated_at, status_changed_at, closed_at) "
        f"SELECT 'BULK-' || i, :seller_base + 1 + ((i / 3) * {_HASH}) % :sellers, "
        f"CASE (7 * i) % 10 {types} END, {order}, 'Bulk case ' || i, {status}, "
        f"{ts}, {ts}, {ts}, CASE WHEN i % 100 > 15 OR i % 100 = 0 THEN {ts} END "
        f"FROM {series} AS x"
    )
    return people, cases, series


def bulk_load_sellers(db: Database, count: int) -> int:
    """Insert ``count`` merchants and main sellers after the existing ones; returns the id base."""
    people, _, _ = _bulk_sql(db.dialect)
    with db.engine.begin() as conn:
        base = int(conn.execute(text("SELECT COALESCE(MAX(id), 0) FROM sellers")).scalar() or 0)
        base = max(base, int(conn.execute(text("SELECT COALESCE(MAX(id), 0) FROM merchants"))
                             .scalar() or 0))
        for stmt in people.split(";"):
            conn.execute(text(stmt), {"a": base + 1, "b": base + count})
        if db.dialect == "postgresql":
            for table in ("merchants", "sellers"):
                conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                  f"(SELECT MAX(id) FROM {table}))"))
    return base


def bulk_load_cases(db: Database, start: int, stop: int, seller_base: int, sellers: int,
                    chunk: int = 250_000) -> float:
    """Insert bulk rows ``start..stop`` (inclusive) in chunks; returns the seconds taken."""
    _, cases, _ = _bulk_sql(db.dialect)
    t0 = time.perf_counter()
    for a in range(start, stop + 1, chunk):
        b = min(stop, a + chunk - 1)
        with db.engine.begin() as conn:
            conn.execute(text(cases), {"a": a, "b": b, "seller_base": seller_base,
                                       "sellers": sellers})
    if db.dialect == "postgresql":
        with db.engine.begin() as conn:
            conn.execute(text("SELECT setval(pg_get_serial_sequence('cases', 'id'), "
                              "(SELECT MAX(id) FROM cases))"))
        # What autovacuum does shortly after a load like this.
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("ANALYZE cases"))
    return time.perf_counter() - t0


class PlanError(AssertionError):
    """The active-case lookup is not answered from an index."""


def check_plan(dialect: str, plan: str, allowed: frozenset[str] = ISSUE_INDEXES) -> str:
    """The index the plan reads ``cases`` through.

    Raises PlanError on a full scan, and on an index outside ``allowed`` (the indexes led by
    the issue key seller_id, case_type, order_key): an index on the seller or the status alone
    still reads a number of rows that grows with the table.
    """
    if dialect == "postgresql":
        if re.search(r"Seq Scan on cases\b", plan):
            raise PlanError(f"find_active does a sequential scan of cases:\n{plan}")
        found = re.search(r"Index (?:Only )?Scan using (\w+) on cases\b", plan) or re.search(
            r"Bitmap Index Scan on (\w+)", plan)
    else:
        if re.search(r"\bSCAN cases\b(?! USING)", plan):
            raise PlanError(f"find_active scans the whole cases table:\n{plan}")
        found = re.search(r"SEARCH cases USING (?:COVERING )?INDEX (\w+)", plan)
    if not found:
        raise PlanError(f"find_active uses no index on cases:\n{plan}")
    if found.group(1) not in allowed:
        raise PlanError(f"find_active reads cases through {found.group(1)}, which is not led by "
                        f"the issue key (expected one of {sorted(allowed)}):\n{plan}")
    return found.group(1)


@dataclass(frozen=True)
class Plans:
    """The lookup query and its plans (PostgreSQL: with the values, and the generic plan that
    a prepared statement may switch to after five executions)."""

    sql: str
    plan: str
    index: str
    generic_plan: str | None = None
    generic_index: str | None = None


def _capture_find_active_sql(db: Database, seller_id: int, case_type: str,
                             order_id: str | None) -> tuple[str, Any]:
    """The statement and parameters `SqlCaseRepository.find_active` really sends."""
    seen: list[tuple[str, Any]] = []

    def grab(_conn: Any, _cur: Any, statement: str, parameters: Any, _ctx: Any, _many: bool) -> None:
        if "FROM cases" in statement:
            seen.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", grab)
    try:
        with db.sessions() as session:
            SqlCaseRepository(session, "CX").find_active(seller_id, case_type, order_id)
    finally:
        event.remove(db.engine, "before_cursor_execute", grab)
    if len(seen) != 1:
        raise RuntimeError(f"expected one query from find_active, saw {len(seen)}")
    return seen[0]


def explain_find_active(db: Database, seller_id: int, case_type: str,
                        order_id: str | None) -> Plans:
    """EXPLAIN the real lookup statement and check that it reads an index."""
    sql, params = _capture_find_active_sql(db, seller_id, case_type, order_id)
    if db.dialect != "postgresql":
        with db.engine.connect() as conn:
            rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql, params).all()
        plan = "\n".join(str(r[-1]) for r in rows)
        return Plans(sql, plan, check_plan("sqlite", plan))
    with db.engine.connect() as conn:
        plan = "\n".join(r[0] for r in conn.exec_driver_sql("EXPLAIN " + sql, params).all())
    index = check_plan("postgresql", plan)
    # The generic plan: placeholders instead of values, as a prepared statement may use.
    names: list[str] = []

    def number(m: re.Match[str]) -> str:
        if m.group(1) not in names:
            names.append(m.group(1))
        return f"${names.index(m.group(1)) + 1}"

    prepared = re.sub(r"%\((\w+)\)s", number, sql)
    dsn = make_url(db.url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(dsn, autocommit=True) as pg:
        pg.execute("SET plan_cache_mode = force_generic_plan")
        pg.execute(pgsql.SQL("PREPARE fd_find_active AS ") + pgsql.SQL(prepared))
        args = pgsql.SQL(", ").join(pgsql.Literal(params[n]) for n in names)
        generic_rows = pg.execute(
            pgsql.SQL("EXPLAIN EXECUTE fd_find_active({})").format(args)).fetchall()
    generic = "\n".join(r[0] for r in generic_rows)
    return Plans(sql, plan, index, generic, check_plan("postgresql", generic))


@dataclass
class LookupSize:
    """Part 2 at one table size."""

    cases: int
    load_s: float
    service: Measured = field(default_factory=Measured)  # via CaseService (own transaction)
    query: Measured = field(default_factory=Measured)  # the repository query in one session
    select1: Measured = field(default_factory=Measured)
    plans: Plans | None = None


@dataclass
class LookupResult:
    """Part 2 on one database."""

    small: LookupSize
    big: LookupSize

    def ratio(self, what: str) -> float:
        small: Measured = getattr(self.small, what)
        big: Measured = getattr(self.big, what)
        return big.p50_ms / small.p50_ms


def _targets(rng: random.Random, upto: int, count: int, seller_base: int,
             sellers: int) -> list[tuple[int, str, str | None, bool]]:
    """Half existing active issues (hits), half issues without a case (misses, as when a
    seller opens a new case)."""
    out: list[tuple[int, str, str | None, bool]] = []
    while len(out) < count:
        i = rng.randint(1, upto)
        seller, case_type, order, status = issue_of(i, seller_base, sellers)
        if len(out) % 2 == 0:
            if status in ("open", "investigating", "pending", "resolved"):
                out.append((seller, case_type, order, True))
        else:
            out.append((seller, case_type, f"NEW-{rng.randrange(10**9)}", False))
    return out


def _time_lookups(db: Database, service: CaseService, size: LookupSize, sizes: Sizes,
                  seller_base: int, rng: random.Random) -> None:
    select_op = _select1(db)
    for _ in range(sizes.lookup_reps):
        targets = _targets(rng, size.cases, sizes.lookups, seller_base, sizes.sellers)
        lat: list[float] = []
        t0 = time.perf_counter()
        for seller, case_type, order, hit in targets:
            s = time.perf_counter()
            case = service.find_active_case(seller, case_type, order)
            lat.append(time.perf_counter() - s)
            if (case is not None) != hit:
                raise AssertionError(f"find_active({seller}, {case_type}, {order}) gave {case}")
        size.service.add(len(targets), time.perf_counter() - t0, lat)
        lat = []
        with db.sessions() as session:
            repo = SqlCaseRepository(session, "CX")
            t0 = time.perf_counter()
            for seller, case_type, order, _hit in targets:
                s = time.perf_counter()
                repo.find_active(seller, case_type, order)
                lat.append(time.perf_counter() - s)
            size.query.add(len(targets), time.perf_counter() - t0, lat)
        wall, lats = run_threads(select_op, len(targets), 1)
        size.select1.add(len(targets), wall, lats["select1"])


def measure_lookup(db: Database, sizes: Sizes, seed: int = 2) -> LookupResult:
    """Part 2 on an empty migrated ``db``: load ``small`` cases, time, grow to ``big``, time."""
    service = make_service(db)
    rng = random.Random(seed)
    seller_base = bulk_load_sellers(db, sizes.sellers)
    sample = next(issue_of(i, seller_base, sizes.sellers) for i in range(1, 100)
                  if issue_of(i, seller_base, sizes.sellers)[3] == "open")
    result: list[LookupSize] = []
    loaded = 0
    for target in (sizes.small, sizes.big):
        load_s = bulk_load_cases(db, loaded + 1, target, seller_base, sizes.sellers)
        loaded = target
        with db.engine.connect() as conn:
            counted = int(conn.execute(text("SELECT COUNT(*) FROM cases")).scalar() or 0)
        if counted != target:
            raise AssertionError(f"expected {target} cases after the load, found {counted}")
        size = LookupSize(target, load_s)
        size.plans = explain_find_active(db, sample[0], sample[1], sample[2])
        # Warm the cache the same way at both sizes before timing.
        _time_lookups(db, service, LookupSize(target, 0), Sizes(lookups=50, lookup_reps=1,
                                                                 sellers=sizes.sellers),
                      seller_base, rng)
        _time_lookups(db, service, size, sizes, seller_base, rng)
        result.append(size)
    return LookupResult(result[0], result[1])


# Report -----------------------------------------------------------------------------------------
def machine(pg_url: str | None) -> dict[str, str]:
    """What the numbers were measured on."""
    info = {
        "CPUs (nproc)": str(len(os.sched_getaffinity(0))),
        "load average at start": " ".join(f"{x:.2f}" for x in os.getloadavg()),
        "OS": platform.platform(),
        "Python": platform.python_version(),
        "SQLite": sqlite3.sqlite_version,
        "SQLAlchemy / psycopg": f"{sqlalchemy.__version__} / {psycopg.__version__}",
    }
    if pg_url:
        engine = create_engine(pg_url, poolclass=sqlalchemy.pool.NullPool)
        with engine.connect() as conn:
            version = conn.execute(text("SHOW server_version")).scalar()
            settings = {k: conn.execute(text(f"SHOW {k}")).scalar()
                        for k in ("shared_buffers", "synchronous_commit", "fsync")}
        engine.dispose()
        info["PostgreSQL"] = f"{version} on 127.0.0.1 (" + ", ".join(
            f"{k}={v}" for k, v in settings.items()) + ")"
    return info


def _row(label: str, m: Measured, base: Measured | None = None) -> str:
    ratio = f"{m.p50_ms / base.p50_ms:.1f}×" if base else "—"
    return f"| {label} | {m.ops_per_s:,.0f} | {m.p50_ms:.2f} | {m.p99_ms:.2f} | {ratio} |"


def render(sizes: Sizes, info: dict[str, str], ops: dict[str, list[OpsResult]],
           lookups: dict[str, LookupResult], elapsed_s: float, quick: bool) -> str:
    """The markdown section for docs/benchmarks.md."""
    out = ["## Case store (`bench/bench_store.py`)", "",
           f"Command: `{COMMAND}{' --quick' if quick else ''}` (total {elapsed_s:.0f} s).", ""]
    out += [f"- {k}: {v}" for k, v in info.items()]
    out += [
        "",
        "### Open a case + add a message (through `CaseService`, one transaction per call)",
        "",
        f"{sizes.reps} repetitions of {sizes.pairs} open + message pairs each; every figure is "
        "the median over the repetitions. ops/s counts each service call as one operation; "
        "*× SELECT 1* is the p50 latency over the bare `SELECT 1` round trip through the same "
        "engine, measured in the same repetitions, as a read-only unit like the app's reads "
        "(SQLite: a plain BEGIN, no write lock; PostgreSQL: autocommit). The INSERT baseline is one row into "
        "`processed_events` in its own transaction. Each `open_case` also writes the first "
        "message, a `created` event, a counter increment and two outbox items; "
        "`add_seller_message` a message, the case's `updated_at` and an outbox item.",
        "",
    ]
    for dbname, results in ops.items():
        for r in results:
            out += [f"**{dbname}, {r.threads} thread{'s' if r.threads > 1 else ''}**", "",
                    "| operation | ops/s | p50 ms | p99 ms | p50 × SELECT 1 |",
                    "|---|---:|---:|---:|---:|",
                    _row("baseline: `SELECT 1`", r.select1),
                    _row("baseline: one-row INSERT + commit", r.insert1, r.select1),
                    _row("`open_case`", r.open_case, r.select1),
                    _row("`add_seller_message`", r.add_message, r.select1),
                    _row("open + message (pair latency; ops/s = calls)", r.pair, r.select1),
                    ""]
    out += [
        "### Find the active case for an issue",
        "",
        "Cases bulk-loaded in SQL (PostgreSQL `INSERT … SELECT generate_series`, then `ANALYZE` as "
        "autovacuum would; SQLite a recursive-CTE `INSERT`, no `ANALYZE`, as the app runs it) "
        f"over {sizes.sellers:,} sellers, ten types, three cases per order id, 12 % active, "
        "3 % declined, the rest closed. Each repetition looks up "
        f"{sizes.lookups:,} issues, half with an active case and half without (a new issue); "
        f"medians of {sizes.lookup_reps} repetitions. *service*: `CaseService.find_active_case` "
        "(session + transaction per call); *query*: `SqlCaseRepository.find_active` in one open "
        "session (the statement alone).",
        "",
        "| database | cases | load s | service p50 ms | service p99 ms | query p50 ms "
        "| query p99 ms | SELECT 1 p50 ms | index used |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for dbname, lr in lookups.items():
        for s in (lr.small, lr.big):
            idx = s.plans.index if s.plans else "?"
            if s.plans and s.plans.generic_index:
                idx += f" (generic plan: {s.plans.generic_index})"
            out.append(f"| {dbname} | {s.cases:,} | {s.load_s:.1f} | {s.service.p50_ms:.3f} | "
                       f"{s.service.p99_ms:.3f} | {s.query.p50_ms:.3f} | {s.query.p99_ms:.3f} | "
                       f"{s.select1.p50_ms:.3f} | `{idx}` |")
    out += ["", "Ratio of p50 at the big size to p50 at the small size (≈ 1 means the cost "
            "does not grow with the table):", ""]
    for dbname, lr in lookups.items():
        base = lr.ratio("select1")
        out.append(f"- {dbname}: service {lr.ratio('service'):.2f}, query {lr.ratio('query'):.2f}, "
                   f"SELECT 1 baseline {base:.2f}; divided by the baseline's ratio (noise of the "
                   f"machine removed): service {lr.ratio('service') / base:.2f}, query "
                   f"{lr.ratio('query') / base:.2f} ({lr.small.cases:,} → {lr.big.cases:,} cases)")
    for dbname, lr in lookups.items():
        plans = lr.big.plans
        if plans is None:
            continue
        out += ["", f"{dbname} plan of the lookup at {lr.big.cases:,} cases:", "", "```text",
                plans.sql.strip(), "", plans.plan]
        if plans.generic_plan:
            out += ["", "generic plan (plan_cache_mode = force_generic_plan):", plans.generic_plan]
        out.append("```")
    return "\n".join(out) + "\n"


# Entry point ------------------------------------------------------------------------------------
def bench_database(url: str, sizes: Sizes, thread_counts: Sequence[int],
                   log: Callable[[str], None]) -> tuple[list[OpsResult], LookupResult]:
    """Both parts on one migrated, empty database."""
    db = Database(url, pool_size=max(thread_counts) + 2)
    try:
        ops = []
        for threads in thread_counts:
            log(f"  ops, {threads} thread(s)")
            ops.append(measure_ops(db, sizes, threads))
        truncate_all(db)
        log(f"  lookup: loading {sizes.small:,} then {sizes.big:,} cases")
        lookup = measure_lookup(db, sizes)
        return ops, lookup
    finally:
        db.dispose()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_store", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="tiny sizes (seconds; smoke test)")
    parser.add_argument("--pg-server", default=os.environ.get(PG_SERVER_ENV, DEFAULT_PG_SERVER),
                        help=f"PostgreSQL server to create the scratch database on "
                             f"(default ${PG_SERVER_ENV} or {DEFAULT_PG_SERVER})")
    parser.add_argument("--pg-database", default=DEFAULT_SCRATCH,
                        help="scratch database name (fd_bench_*), created and dropped")
    parser.add_argument("--no-postgres", action="store_true", help="SQLite only")
    parser.add_argument("--threads", type=int, default=None, help="concurrent threads")
    parser.add_argument("--write", action=argparse.BooleanOptionalAction, default=None,
                        help="write docs/benchmarks.md (default: yes, except with --quick)")
    args = parser.parse_args(argv)
    sizes = QUICK if args.quick else Sizes()
    if args.threads:
        sizes = Sizes(**{**sizes.__dict__, "threads": args.threads})
    write = (not args.quick) if args.write is None else args.write
    thread_counts = (1, sizes.threads)

    def log(msg: str) -> None:
        print(f"[bench_store {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)

    started = time.perf_counter()
    ops: dict[str, list[OpsResult]] = {}
    lookups: dict[str, LookupResult] = {}
    pg_url = None if args.no_postgres else args.pg_server
    info = machine(pg_url)
    log("SQLite")
    with scratch_sqlite() as url:
        ops["SQLite"], lookups["SQLite"] = bench_database(url, sizes, thread_counts, log)
    if pg_url:
        log(f"PostgreSQL (scratch database {args.pg_database})")
        with scratch_postgres(pg_url, args.pg_database) as url:
            ops["PostgreSQL"], lookups["PostgreSQL"] = bench_database(url, sizes, thread_counts,
                                                                      log)
    info["load average at end"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    markdown = render(sizes, info, ops, lookups, time.perf_counter() - started, args.quick)
    print(markdown)
    if write:
        write_section("store", markdown)
        log("wrote docs/benchmarks.md")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
