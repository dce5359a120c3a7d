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
import os
import sys
import time
from collections.abc import Callable, Sequence

from bench.machine_info import machine
from bench.report import write_section
from bench.scratch_databases import (
    DEFAULT_PG_SERVER,
    DEFAULT_SCRATCH,
    PG_SERVER_ENV,
    scratch_postgres,
    scratch_sqlite,
    truncate_all,
)
from bench.store_lookup import LookupResult, measure_lookup
from bench.store_lookup_plan import ISSUE_INDEXES, PlanError, check_plan, explain_find_active
from bench.store_operations import OpsResult, measure_ops
from bench.store_report import COMMAND, render
from bench.store_sizes import QUICK, Sizes
from bench.store_timing import Measured
from storage.database import Database

# The benchmark's parts, re-exported: its smoke test (tests/unit/test_bench_store_smoke.py)
# drives and checks them through this module.
__all__ = [
    "COMMAND",
    "ISSUE_INDEXES",
    "LookupResult",
    "Measured",
    "OpsResult",
    "PlanError",
    "Sizes",
    "bench_database",
    "check_plan",
    "explain_find_active",
    "machine",
    "main",
    "render",
    "scratch_postgres",
    "scratch_sqlite",
]


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
