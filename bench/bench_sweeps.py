"""Benchmark: one scheduler sweep over a large case table, on PostgreSQL and SQLite.

Loads N cases (default 1,000,000; `bench.sweep_data`) of which 1% are due for something
(reminders, auto-close, first-response warning/breach, evaluation expiry), runs
``Sweeper.run_sweeps`` and reports its time against a same-run baseline, a bare bulk
``UPDATE`` of the same due rows in one transaction, and the SQL statements it sent (counted
by a ``before_cursor_execute`` listener, so the figure does not depend on the machine).
Targets: at most 0.1 statements per due case; the sweep within 5x the baseline.

To show a sweep's cost follows the due cases and not the table it also runs 10,000 cases with
100 due, 1,000,000 with 100 due and 1,000,000 with none due; and it EXPLAINs every statement
the large sweep sent, on the loaded data: a sequential scan of any table fails the run.

    .venv/bin/python -m bench.bench_sweeps            # writes the "sweeps" section
    .venv/bin/python -m bench.bench_sweeps --rows 100000 --no-write

PostgreSQL: scratch databases (``--pg-db``) on the server of ``--pg-url``, dropped at the
end. SQLite: temporary files.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text, update
from sqlalchemy.engine import Engine, make_url

from bench.machine_info import machine
from bench.report import write_section
from bench.statement_counter import Counter
from bench.sweep_data import CASES, NOW, high_water, load, restore, snapshot, undue
from bot.cases import CaseRules, CaseService
from bot.clock import ManualClock
from bot.relay import Relay, RelayConfig
from bot.sweeps import SchedulerConfig, Sweeper
from storage.database import Database
from storage.migrate import upgrade
from storage.sweeps import SqlSweepStore
from storage.uow import SqlUnitOfWorkFactory

STATEMENTS_PER_DUE_TARGET = 0.1
BASELINE_RATIO_TARGET = 5.0
# One row per scheduled job (five): the planner rightly reads its single page. Its statements
# are explained with sequential scans disabled, which shows an index serves them too.
TINY_TABLES = frozenset({"job_runs"})


@dataclass
class Run:
    label: str
    rows: int
    due: int
    acted: int
    seconds: list[float]
    statements: int
    transactions: int
    baseline: list[float] = field(default_factory=list)
    sql: list[float] = field(default_factory=list)  # of each sweep: inside execute
    commit: list[float] = field(default_factory=list)  # of each sweep: inside the COMMITs

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    @property
    def baseline_median(self) -> float | None:
        return statistics.median(self.baseline) if self.baseline else None

    @property
    def per_due(self) -> float | None:
        return self.statements / self.due if self.due else None


def sweeper_for(database: Database) -> Sweeper:
    relay = Relay(RelayConfig(agents_destination="slack", channel_for=lambda _t: "C_SUPPORT"))
    service = CaseService(SqlUnitOfWorkFactory(database, "CX"), relay, CaseRules(),
                          ManualClock(NOW))
    return Sweeper(service, SqlSweepStore(), SchedulerConfig())


def bare_update(engine: Engine, ids: list[int]) -> float:
    """The baseline: one transaction with one UPDATE of the due rows."""
    started = time.perf_counter()
    with engine.begin() as conn:
        conn.execute(update(CASES).where(CASES.c.id.in_(ids)).values(updated_at=NOW))
    return time.perf_counter() - started


def measure(database: Database, counter: Counter, label: str, rows: int, due_ids: list[int],
            repeat: int, keep: bool = False) -> Run:
    """``repeat`` sweeps, each followed by the baseline on the same rows (both undone)."""
    engine = database.engine
    saved = snapshot(engine, due_ids)
    since = high_water(engine)
    sweeper = sweeper_for(database)
    run = Run(label, rows, len(due_ids), 0, [], 0, 0)
    for n in range(repeat):
        counter.reset(keep=keep and n == 0)
        started = time.perf_counter()
        result = sweeper.run_sweeps(NOW)
        run.seconds.append(time.perf_counter() - started)
        counter.keep = False
        run.acted, run.statements, run.transactions = (
            sum(result.values()), counter.count, counter.commits)
        run.sql.append(counter.sql_seconds)
        run.commit.append(counter.commit_seconds)
        restore(engine, saved, since)
        if due_ids:
            run.baseline.append(bare_update(engine, due_ids))
            restore(engine, saved, since)
    return run


# Plans -----------------------------------------------------------------------------------------
def scanned_tables(dialect: str, plan: str) -> list[str]:
    """The tables a plan reads whole (PostgreSQL: a sequential scan; SQLite: a SCAN, also
    of a whole index). A VALUES list, a materialised subquery or the rows of a JSON parameter
    (SQLite's json_each, a virtual table) is not a table."""
    if dialect == "postgresql":
        return re.findall(r"Seq Scan on (\w+)", plan)
    found = re.findall(r"^\s*(?:\|--|`--)?\s*SCAN (\w+)( VIRTUAL TABLE)?", plan, re.M)
    return [name for name, virtual in found
            if not virtual and name.upper() != "CONSTANT" and not name.isdigit()]


@dataclass(frozen=True)
class Plan:
    statement: str
    plan: str
    scans: tuple[str, ...]


def _shape(statement: str) -> str:
    """The statement with its IN lists and VALUES rows collapsed: one plan per shape."""
    head = " ".join(statement.split())
    head = re.sub(r"(%\(\w+\)s|\?)(, (%\(\w+\)s|\?))+", "…", head)
    return re.sub(r"(\(…\))(, \(…\))+", r"\1", head)


def explain(engine: Engine, statements: list[tuple[str, Any]],
            force_index: bool = False) -> list[Plan]:
    """EXPLAIN each distinct statement a sweep sent, on the loaded data. ``force_index``
    (PostgreSQL): with sequential scans disabled, so one left means no index can serve."""
    pg = engine.dialect.name == "postgresql"
    seen: set[str] = set()
    out = []
    for statement, params in statements:
        shape = _shape(statement)
        if shape in seen or shape.startswith(("BEGIN", "COMMIT", "SAVEPOINT", "RELEASE")):
            continue
        seen.add(shape)
        tiny = set(re.findall(r"\b(?:FROM|INTO|UPDATE|JOIN)\s+(\w+)", shape)) <= TINY_TABLES
        with engine.connect() as conn:
            if pg and (tiny or force_index):
                conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
            prefix = "EXPLAIN " if pg else "EXPLAIN QUERY PLAN "
            if isinstance(params, list):  # an executemany: its plan is one row's
                params = params[0]
            rows = conn.exec_driver_sql(prefix + statement, params).all()
            conn.rollback()
        body = "\n".join(str(r[0] if pg else r[-1]) for r in rows)
        scans = scanned_tables(engine.dialect.name, body)
        short = shape[:140] + ("…" if len(shape) > 140 else "")
        out.append(Plan(short, body, tuple(scans)))
    return out


# Running --------------------------------------------------------------------------------------
Result = tuple[list[Run], list[Plan], float]


def bench_database(kind: str, make_url_for: Callable[[str], str], rows: int, small: int,
                   fraction: float, repeat: int, log: Callable[[str], None]) -> Result:
    runs: list[Run] = []
    url = make_url_for("small")
    upgrade(url)
    database = Database(url)
    counter = Counter(database.engine)
    due_ids = load(database.engine, small, int(small * fraction))
    runs.append(measure(database, counter, "small table, 1% due", small, due_ids, repeat))
    log(f"{kind}: {runs[-1]}")
    database.dispose()
    url = make_url_for("large")
    upgrade(url)
    database = Database(url)
    counter = Counter(database.engine)
    started = time.perf_counter()
    due_ids = load(database.engine, rows, int(rows * fraction))
    load_seconds = time.perf_counter() - started
    log(f"{kind}: loaded {rows} cases in {load_seconds:.1f}s")
    runs.append(measure(database, counter, "large table, 1% due", rows, due_ids, repeat,
                        keep=True))
    plans = explain(database.engine, counter.statements)
    log(f"{kind}: {runs[-1]}")
    few = int(small * fraction)
    undue(database.engine, due_ids[few:])
    runs.append(measure(database, counter, "large table, same due count as small", rows,
                        due_ids[:few], repeat))
    log(f"{kind}: {runs[-1]}")
    undue(database.engine, due_ids[:few])
    runs.append(measure(database, counter, "large table, nothing due", rows, [], repeat))
    log(f"{kind}: {runs[-1]}")
    database.dispose()
    return runs, plans, load_seconds


# Report ---------------------------------------------------------------------------------------
def _verdict(ok: bool) -> str:
    return "met" if ok else "**NOT met**"


def _database_share(run: Run) -> float:
    """Median over the sweeps of the time inside statements and commits together."""
    return statistics.median(s + c for s, c in zip(run.sql, run.commit, strict=True))


def render(results: dict[str, Result], command: str, repeat: int, info: dict[str, str]) -> str:
    out = [
        "## Scheduler sweeps (`bench/bench_sweeps.py`)",
        "",
        f"Command: `{command}`",
        "",
        "Machine: " + "; ".join(f"{k}: {v}" for k, v in info.items()) + ".",
        "",
        "**Load.** One `Sweeper.run_sweeps` (auto-close, reminders, first-response "
        "breach/warning, evaluation expiry; batches of 500 cases per transaction) over a case "
        "table of production shape (`bench/sweep_data.py`: ten cases per seller, 85% closed; "
        "40% of closed cases rated; resolved cases past the rating window already in "
        "`sweep_marks`; every resolved case's rating prompt and some replies delivered in the "
        "outbox). The due cases are spread evenly and split across the seven kinds of due "
        "work; a third of them reopen an older case (their card names it). "
        f"**Repetitions:** {repeat} sweeps per row, medians; after each sweep the due cases "
        "are restored, what it wrote deleted and the tables vacuumed/analysed.",
        "",
        "**Baseline, same run:** after each sweep, a bare bulk `UPDATE cases SET updated_at` "
        "of the same due rows (one statement in one transaction, then undone). "
        "**Statements:** every statement sent, counted with a `before_cursor_execute` "
        "listener (SQLite's `BEGIN IMMEDIATE` included; PostgreSQL's implicit BEGIN and the "
        "COMMITs not); transactions: commits.",
        "",
        "| database | cases | due | acted on | sweep (median) | of it in SQL | "
        "of it in commits | bare UPDATE (median) | sweep / UPDATE | statements | "
        "per due case | transactions |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for kind, (runs, _plans, _load) in results.items():
        for r in runs:
            base = r.baseline_median
            ratio = f"{r.median / base:.1f}×" if base else "–"
            per_due = f"{r.per_due:.3f}" if r.per_due is not None else "–"
            out.append(
                f"| {kind} | {r.rows:,} | {r.due:,} | {r.acted:,} | {r.median:.3f} s | "
                f"{statistics.median(r.sql):.3f} s | {statistics.median(r.commit):.3f} s | "
                + (f"{base:.3f} s" if base else "–")
                + f" | {ratio} | {r.statements:,} | {per_due} | {r.transactions} |")
    out += ["", "**Targets** (the 1,000,000-case table with 1% due):", ""]
    for kind, (runs, _plans, _load) in results.items():
        big = runs[1]
        base = big.baseline_median or float("nan")
        per = big.per_due or 0.0
        out.append(
            f"- {kind}: {per:.3f} statements per due case (target ≤ "
            f"{STATEMENTS_PER_DUE_TARGET}): {_verdict(per <= STATEMENTS_PER_DUE_TARGET)}; "
            f"sweep {big.median:.2f} s = {big.median / base:.1f}× the bare UPDATE's "
            f"{base:.3f} s (target ≤ {BASELINE_RATIO_TARGET:g}×): "
            f"{_verdict(big.median / base <= BASELINE_RATIO_TARGET)}; of the sweep, "
            f"{statistics.median(big.sql):.2f} s inside the statements and "
            f"{statistics.median(big.commit):.2f} s inside the commits (together "
            f"{_database_share(big) / base:.1f}× the bare UPDATE), the rest in Python "
            "(claimed rows to cases, the rules' texts and payloads, JSON). Runs: "
            + ", ".join(f"{s:.2f}" for s in big.seconds) + " s; baseline runs: "
            + ", ".join(f"{s:.3f}" for s in big.baseline) + " s.")
    out += ["", "Bulk load of the large table and its surroundings (COPY / executemany, "
            "indexes built after): " + ", ".join(f"{k} {v[2]:.0f} s" for k, v in results.items())
            + ".", "", "Scaling (same number of due cases, table 100× larger):", ""]
    for kind, (runs, _plans, _load) in results.items():
        small, _big, sparse, empty = runs
        out.append(
            f"- {kind}: {small.due:,} due in {small.rows:,} cases {small.median:.3f} s, in "
            f"{sparse.rows:,} cases {sparse.median:.3f} s (×{sparse.median / small.median:.1f}),"
            f" {small.statements} and {sparse.statements} statements; nothing due in "
            f"{empty.rows:,} cases: {empty.median * 1000:.0f} ms, {empty.statements} statements.")
    out += [
        "",
        "**Plans.** Every distinct statement the large sweep sent (IN lists and VALUES rows "
        "collapsed), EXPLAINed on the loaded data as the planner chose; a sequential scan of "
        "any table (SQLite: any `SCAN` of a table or a whole index) fails the run. `job_runs` "
        f"({', '.join(sorted(TINY_TABLES))}: one row per job) is explained with sequential "
        "scans disabled.",
        "",
    ]
    for kind, (_runs, plans, _load) in results.items():
        bad = [p for p in plans if p.scans]
        out.append(f"**{kind}**: {len(plans)} statements, "
                   + ("no sequential scan" if not bad else
                      f"SEQUENTIAL SCANS in {len(bad)}: "
                      + ", ".join(sorted({t for p in bad for t in p.scans}))))
        out.append("")
        for p in plans:
            out.append(f"- `{p.statement}` {'✗ ' + ', '.join(p.scans) if p.scans else '✓'}")
            out.append("")
            out.append("  ```")
            # (IN lists of a whole batch cut short)
            out += [f"  {line[:160]}{'…' if len(line) > 160 else ''}"
                    for line in p.plan.splitlines()]
            out.append("  ```")
        out.append("")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument("--due", type=float, default=0.01, help="fraction of cases due")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--pg-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    parser.add_argument("--pg-db", default="fd_bench_sweeps")
    parser.add_argument("--skip-pg", action="store_true")
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)
    given = sys.argv[1:] if argv is None else argv
    command = " ".join([".venv/bin/python -m bench.bench_sweeps", *given])
    info = machine(None if args.skip_pg else args.pg_url)
    results: dict[str, Result] = {}

    if not args.skip_pg:
        base = make_url(args.pg_url)
        admin = create_engine(base, isolation_level="AUTOCOMMIT")
        names = {size: f"{args.pg_db}_{size}" for size in ("small", "large")}
        try:
            for name in names.values():
                with admin.connect() as conn:
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                    conn.execute(text(f'CREATE DATABASE "{name}"'))
            results["PostgreSQL"] = bench_database(
                "PostgreSQL",
                lambda size: base.set(database=names[size]).render_as_string(hide_password=False),
                args.rows, args.small, args.due, args.repeat, print)
        finally:
            for name in names.values():
                with admin.connect() as conn:
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()

    if not args.skip_sqlite:
        with tempfile.TemporaryDirectory() as tmp:
            results["SQLite"] = bench_database(
                "SQLite", lambda size: f"sqlite:///{Path(tmp) / size}.db", args.rows, args.small,
                args.due, args.repeat, print)

    info["load average at end"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    doc = render(results, command, args.repeat, info)
    print(doc)
    if not args.no_write:
        write_section("sweeps", doc)
    scans = [p for _runs, plans, _load in results.values() for p in plans if p.scans]
    if scans:
        print(f"FAILED: {len(scans)} sweep statement(s) scan a whole table", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
