"""Benchmark: one scheduler sweep over a large case table, on PostgreSQL and SQLite.

Loads N cases (default 1,000,000) of which 1% are due for something (reminders, auto-close,
first-response warning/breach, evaluation expiry), runs ``Sweeper.run_sweeps`` and reports
the time and the number of SQL statements (a ``before_cursor_execute`` counter). To show a
sweep's cost follows the due cases and not the table, it also runs: 10,000 rows with 100 due,
1,000,000 rows with 100 due, and 1,000,000 rows with none due; and it EXPLAINs every claim
statement the sweep ran (each must search an index, never scan ``cases``).

    .venv/bin/python -m bench.bench_sweeps            # writes the "sweeps" section
    .venv/bin/python -m bench.bench_sweeps --rows 100000 --no-write

PostgreSQL: a scratch database (``--pg-db``, default fd_bench_sweeps) on the server of
``--pg-url``, dropped at the end. SQLite: a temporary file.
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

from sqlalchemy import Table, bindparam, create_engine, event, select, text, update
from sqlalchemy.engine import Engine, make_url

from bench.report import write_section
from bot.cases import CaseRules, CaseService
from bot.clock import ManualClock
from bot.relay import Relay, RelayConfig
from bot.sweeps import SchedulerConfig, Sweeper
from storage.database import Database
from storage.migrate import upgrade
from storage.models import CaseRow
from storage.sweeps import SqlSweepStore
from storage.uow import SqlUnitOfWorkFactory

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
SELLERS = 1000
DUE_KINDS = ("reminder1", "reminder2", "auto_close_pending", "fr_warning", "fr_breach",
             "auto_close_resolved", "evaluation_expiry")
COLUMNS = ("id", "number", "seller_id", "identity_id", "case_type", "order_key", "title",
           "status", "urgent", "needs_human", "keep_open_count", "created_at", "updated_at",
           "status_changed_at", "first_response_due_at", "first_response_at", "pending_since",
           "auto_close_at", "resolved_at", "closed_at", "reminders_sent", "fr_warning_sent",
           "fr_breach_sent")
H = timedelta(hours=1)
D = timedelta(days=1)
CASES = cast(Table, CaseRow.__table__)


def case_row(i: int, kind: str) -> dict[str, Any]:
    """One case of ``kind``: a background state (not due) or one of ``DUE_KINDS``."""
    created = NOW - 10 * D
    row: dict[str, Any] = {
        "id": i, "number": f"CX-{i:07d}", "seller_id": i % SELLERS + 1,
        "identity_id": i % SELLERS + 1, "case_type": "payment", "order_key": f"O{i}",
        "title": "Payments", "status": "closed", "urgent": False, "needs_human": False,
        "keep_open_count": 0, "created_at": created, "updated_at": created,
        "status_changed_at": created + 5 * D, "first_response_due_at": created + 24 * H,
        "first_response_at": created + 2 * H, "pending_since": None, "auto_close_at": None,
        "resolved_at": None, "closed_at": None, "reminders_sent": 0, "fr_warning_sent": False,
        "fr_breach_sent": False,
    }

    def pending(since: datetime, sent: int, close: datetime | None = None) -> None:
        row.update(status="pending", pending_since=since, status_changed_at=since,
                   reminders_sent=sent, auto_close_at=close or since + 7 * D)

    def unanswered(opened: datetime, warned: bool = False) -> None:
        row.update(status="open", created_at=opened, status_changed_at=opened,
                   first_response_at=None, first_response_due_at=opened + 24 * H,
                   fr_warning_sent=warned)

    def resolved(at: datetime, close: datetime) -> None:
        row.update(status="resolved", resolved_at=at, status_changed_at=at, auto_close_at=close)

    match kind:
        case "closed":
            row["closed_at"] = row["status_changed_at"]
        case "investigating":
            row["status"] = "investigating"
        case "pending_fresh":
            pending(NOW - 2 * H, 0)
        case "pending_reminded":
            pending(NOW - 4 * D, 2)
        case "resolved_fresh":
            resolved(NOW - D, NOW + 6 * D)
        case "open_fresh":
            unanswered(NOW - 4 * H)
        case "reminder1":
            pending(NOW - 25 * H, 0)
        case "reminder2":
            pending(NOW - 73 * H, 1)
        case "auto_close_pending":
            pending(NOW - 7 * D - H, 2)
        case "fr_warning":
            unanswered(NOW - 20 * H)
        case "fr_breach":
            unanswered(NOW - 25 * H, warned=True)
        case "auto_close_resolved":
            resolved(NOW - 7 * D - H, NOW - H)
        case "evaluation_expiry":
            resolved(NOW - 4 * D - H, NOW + 3 * D - H)
    return row


def background(i: int) -> str:
    slot = i % 100
    if slot < 85:
        return "closed"
    if slot < 93:
        return "investigating"
    if slot < 97:
        return "pending_fresh" if slot % 2 else "pending_reminded"
    return "resolved_fresh" if slot < 99 else "open_fresh"


def plan(rows: int, due: int) -> tuple[list[int], Iterator[dict[str, Any]]]:
    """Ids of the due cases (spread evenly) and a generator of all rows."""
    step = rows // due if due else rows + 1
    due_ids = [i for i in range(1, rows + 1) if (i - 1) % step == 0][:due]
    due_set = {i: DUE_KINDS[n % len(DUE_KINDS)] for n, i in enumerate(due_ids)}

    def gen() -> Iterator[dict[str, Any]]:
        for i in range(1, rows + 1):
            yield case_row(i, due_set.get(i) or background(i))

    return due_ids, gen()


# Loading ---------------------------------------------------------------------------------------
def _cases_indexes() -> list[Any]:
    return list(CASES.indexes)


def load(engine: Engine, rows: int, due: int) -> list[int]:
    """Fill a migrated database: sellers, identities, then the cases in bulk (COPY on
    PostgreSQL, multi-row executemany on SQLite) with the cases' indexes built afterwards."""
    pg = engine.dialect.name == "postgresql"
    due_ids, gen = plan(rows, due)
    with engine.begin() as conn:
        for index in _cases_indexes():
            index.drop(conn)
        conn.execute(text("INSERT INTO merchants (id, name, created_at) VALUES (:i, :n, :t)"),
                     [{"i": i, "n": f"M{i}", "t": NOW} for i in range(1, SELLERS + 1)])
        conn.execute(text("INSERT INTO sellers (id, merchant_id, display_name, is_main, created_at)"
                          " VALUES (:i, :i, :n, :m, :t)"),
                     [{"i": i, "n": f"S{i}", "m": True, "t": NOW} for i in range(1, SELLERS + 1)])
        conn.execute(text("INSERT INTO identities (id, channel, external_id, address, seller_id,"
                          " created_at) VALUES (:i, 'telegram', :e, :e, :i, :t)"),
                     [{"i": i, "e": f"u{i}", "t": NOW} for i in range(1, SELLERS + 1)])
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        if pg:
            def fmt(v: Any) -> str:
                if v is None:
                    return "\\N"
                if isinstance(v, bool):
                    return "t" if v else "f"
                if isinstance(v, datetime):
                    return v.isoformat()
                return str(v)
            with cur.copy(f"COPY cases ({', '.join(COLUMNS)}) FROM STDIN") as copy:
                buf = io.StringIO()
                for n, r in enumerate(gen, 1):
                    buf.write("\t".join(fmt(r[c]) for c in COLUMNS) + "\n")
                    if n % 50000 == 0:
                        copy.write(buf.getvalue())
                        buf = io.StringIO()
                copy.write(buf.getvalue())
        else:
            def sq(v: Any) -> Any:
                # The text form SQLAlchemy's SQLite DateTime stores (UTC, no offset).
                if isinstance(v, datetime):
                    return v.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
                return int(v) if isinstance(v, bool) else v
            cur.execute("BEGIN")
            sql = (f"INSERT INTO cases ({', '.join(COLUMNS)}) VALUES "
                   f"({', '.join('?' for _ in COLUMNS)})")
            batch: list[tuple[Any, ...]] = []
            for r in gen:
                batch.append(tuple(sq(r[c]) for c in COLUMNS))
                if len(batch) == 50000:
                    cur.executemany(sql, batch)
                    batch = []
            cur.executemany(sql, batch)
            cur.execute("COMMIT")
        raw.commit()
    finally:
        raw.close()
    with engine.begin() as conn:
        for index in _cases_indexes():
            index.create(conn)
        if pg:
            conn.execute(text("INSERT INTO counters (name, value) VALUES ('case', :n)"), {"n": rows})
    vacuum(engine)
    return due_ids


# Measuring -------------------------------------------------------------------------------------
@dataclass
class Run:
    label: str
    rows: int
    due: int
    acted: int
    seconds: list[float]
    queries: int

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)


class Counter:
    """Counts (and optionally keeps) the statements an engine sends."""

    def __init__(self, engine: Engine) -> None:
        self.count = 0
        self.keep = False
        self.statements: list[tuple[str, Any]] = []
        event.listen(engine, "before_cursor_execute", self._on)

    def _on(self, _conn: Any, _cursor: Any, statement: str, params: Any, *_: Any) -> None:
        self.count += 1
        if self.keep:
            self.statements.append((statement, params))


def snapshot(engine: Engine, ids: list[int]) -> list[dict[str, Any]]:
    table = CASES
    out: list[dict[str, Any]] = []
    with engine.connect() as conn:
        for start in range(0, len(ids), 5000):
            chunk = ids[start:start + 5000]
            out += [dict(r._mapping) for r in conn.execute(
                select(table).where(table.c.id.in_(chunk)))]
    return out


def restore(engine: Engine, saved: list[dict[str, Any]]) -> None:
    """Undo a sweep: the due cases as they were, no outbox items, events, marks or job runs."""
    table = CASES
    cols = [c for c in saved[0] if c != "id"] if saved else []
    stmt = (update(table).where(table.c.id == bindparam("b_id"))
            .values({c: bindparam(f"b_{c}") for c in cols}))
    with engine.begin() as conn:
        for name in ("outbox", "case_events", "sweep_marks", "job_runs"):
            conn.execute(text(f"DELETE FROM {name}"))
        if saved:
            conn.execute(stmt, [{f"b_{k}": v for k, v in r.items()} for r in saved])
    vacuum(engine)


def vacuum(engine: Engine) -> None:
    """Clear the dead row versions our own resets left (PostgreSQL), so each run starts from
    the clean state a production table reaches through autovacuum."""
    with engine.connect() as conn:
        ac = conn.execution_options(isolation_level="AUTOCOMMIT")
        ac.execute(text("VACUUM ANALYZE" if engine.dialect.name == "postgresql" else "ANALYZE"))


def sweeper_for(database: Database) -> Sweeper:
    relay = Relay(RelayConfig(agents_destination="slack", channel_for=lambda _t: "C_SUPPORT"))
    service = CaseService(SqlUnitOfWorkFactory(database, "CX"), relay, CaseRules(),
                          ManualClock(NOW))
    return Sweeper(service, SqlSweepStore(), SchedulerConfig())


def measure(database: Database, counter: Counter, label: str, rows: int, due_ids: list[int],
            repeat: int, keep: bool = False) -> Run:
    engine = database.engine
    saved = snapshot(engine, due_ids)
    sweeper = sweeper_for(database)
    times: list[float] = []
    acted = queries = 0
    for n in range(repeat):
        counter.count = 0
        counter.keep = keep and n == 0
        started = time.perf_counter()
        result = sweeper.run_sweeps(NOW)
        times.append(time.perf_counter() - started)
        counter.keep = False
        acted, queries = sum(result.values()), counter.count
        restore(engine, saved)
    return Run(label, rows, len(due_ids), acted, times, queries)


def explain(engine: Engine, statements: list[tuple[str, Any]]) -> list[tuple[str, str, bool]]:
    """(statement head, plan, uses an index on cases without scanning it) per claim."""
    pg = engine.dialect.name == "postgresql"
    seen: set[str] = set()
    out = []
    for statement, params in statements:
        head = " ".join(statement.split())
        claim = (head.startswith("UPDATE cases SET") and "IN (SELECT" in head) or (
            head.startswith("SELECT cases.") and "cases.auto_close_at <=" in head) or (
            head.startswith("INSERT INTO sweep_marks"))
        if not claim or head in seen:
            continue
        seen.add(head)
        with engine.connect() as conn:
            prefix = "EXPLAIN " if pg else "EXPLAIN QUERY PLAN "
            rows = conn.exec_driver_sql(prefix + statement, params).all()
            conn.rollback()
        lines = [r[0] if pg else r[-1] for r in rows]
        body = "\n".join(str(line) for line in lines)
        if pg:
            ok = "Seq Scan on cases" not in body and "ix_cases_" in body
        else:
            ok = (not any(str(line).startswith("SCAN cases") for line in lines)
                  and "ix_cases_" in body)
        out.append((head[:110] + ("…" if len(head) > 110 else ""), body, ok))
    return out


def undue(engine: Engine, ids: list[int]) -> None:
    """Make cases due for nothing (closed, answered), keeping the table size."""
    table = CASES
    with engine.begin() as conn:
        for start in range(0, len(ids), 5000):
            conn.execute(update(table).where(table.c.id.in_(ids[start:start + 5000])).values(
                status="closed", auto_close_at=None, pending_since=None,
                first_response_at=NOW - 10 * D, closed_at=NOW - D))
    vacuum(engine)


def bench_database(kind: str, make_url_for: Callable[[str], str], rows: int, small: int,
                   fraction: float, repeat: int, log: Callable[[str], None]
                   ) -> tuple[list[Run], list[tuple[str, str, bool]], float]:
    runs: list[Run] = []
    # Small table, 1% due.
    url = make_url_for("small")
    upgrade(url)
    database = Database(url)
    counter = Counter(database.engine)
    due_ids = load(database.engine, small, int(small * fraction))
    runs.append(measure(database, counter, "small table, 1% due", small, due_ids, repeat))
    log(f"{kind}: {runs[-1]}")
    database.dispose()
    # Large table, 1% due; then 100 due; then none.
    url = make_url_for("large")
    upgrade(url)
    database = Database(url)
    counter = Counter(database.engine)
    started = time.perf_counter()
    due_ids = load(database.engine, rows, int(rows * fraction))
    load_seconds = time.perf_counter() - started
    log(f"{kind}: loaded {rows} rows in {load_seconds:.1f}s")
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


def render(results: dict[str, tuple[list[Run], list[tuple[str, str, bool]], float]],
           command: str, repeat: int) -> str:
    out = [
        "## Scheduler sweeps",
        "",
        f"Command: `{command}`",
        "",
        "One `Sweeper.run_sweeps` (auto-close, reminders, first-response breach/warning, "
        "evaluation expiry) with the due cases spread evenly over the table and split across "
        "the seven kinds of due work; each sweep claims, writes its case events and queues its "
        "outbox items in batches of 500 cases per transaction. Median of "
        f"{repeat} runs (the due cases are restored between runs). Queries: statements sent, "
        "counted with a `before_cursor_execute` listener.",
        "",
        "| database | cases | due | acted on | median time | per due case | queries | "
        "queries per due case |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for kind, (runs, _plans, _load) in results.items():
        for r in runs:
            per = f"{r.median / r.due * 1000:.2f} ms" if r.due else "–"
            qper = f"{r.queries / r.due:.1f}" if r.due else "–"
            out.append(f"| {kind} | {r.rows:,} | {r.due:,} | {r.acted:,} | {r.median:.3f} s | "
                       f"{per} | {r.queries:,} | {qper} |")
    out += ["", "Bulk load of the large table (COPY / multi-row executemany, indexes built "
            "after): " + ", ".join(f"{k} {v[2]:.0f} s" for k, v in results.items()) + ".", ""]
    out.append("Scaling (same number of due cases, table 100x larger):")
    out.append("")
    for kind, (runs, _plans, _load) in results.items():
        small, _big, sparse, empty = runs
        out.append(
            f"- {kind}: {small.due:,} due in {small.rows:,} cases {small.median:.3f} s, in "
            f"{sparse.rows:,} cases {sparse.median:.3f} s (x{sparse.median / small.median:.1f}), "
            f"same {sparse.queries} statements; nothing due in {empty.rows:,} cases: "
            f"{empty.median * 1000:.0f} ms, {empty.queries} statements.")
    out += [
        "",
        "Between runs the due cases are restored and the table vacuumed (PostgreSQL), as "
        "autovacuum keeps a production table. Every claim statement searches an index "
        "(plans below, from the large table):",
        "",
    ]
    for kind, (_runs, plans, _load) in results.items():
        out.append(f"**{kind}**: " + ("all claims use an index" if all(p[2] for p in plans)
                                      else "SOME CLAIMS SCAN THE TABLE"))
        out.append("")
        for head, body, ok in plans:
            out.append(f"- `{head}` {'✓' if ok else '✗'}")
            out.append("")
            out.append("  ```")
            out += [f"  {line}" for line in body.splitlines()]
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
    command = ".venv/bin/python -m bench.bench_sweeps" + (
        "" if argv is None and len(sys.argv) == 1 else " " + " ".join(argv or sys.argv[1:]))
    results: dict[str, tuple[list[Run], list[tuple[str, str, bool]], float]] = {}

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

    doc = render(results, command, args.repeat)
    print(doc)
    if not args.no_write:
        write_section("sweeps", doc)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
