"""SQLite write transactions under contention: queued in the process vs SQLite's busy handler.

Writer threads keep the database busy with short write transactions (one INSERT each, as the
outbox's "sent" UPDATE or a claim is), while a probe thread times its own one-row write
transaction from ``BEGIN`` to ``COMMIT``. The same run measures two ways of waiting for the
write lock, alternating, with fresh databases:

* **busy handler** (the baseline): every writer goes straight to ``BEGIN IMMEDIATE`` and, when
  another holds the lock, SQLite's busy handler sleeps and asks again (1, 2, 5 ... 100 ms);
* **turns** (storage.sqlite_writes): writers of the process queue on a lock of their own and
  the next one is woken when the previous one commits;
* **turns, probe first**: the same, with the probe's transactions marked ``writes_first`` as
  the outbox's claims and records are.

Reported per way: the probe's p50 and p99 wait, and the writers' transactions per second.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from sqlalchemy import text

from bench.report import percentile, write_section
from storage.database import Database
from storage.sqlite_writes import writes_first

COMMAND = ".venv/bin/python -m bench.bench_sqlite_writes"
BUSY, TURNS, FIRST = "busy handler", "turns", "turns, probe first"
WAYS = (BUSY, TURNS, FIRST)


def _straight_to_sqlite(_connection: Any, first: bool | None = None) -> None:
    """The baseline: no turn taken; BEGIN IMMEDIATE meets SQLite's busy handler."""


def one_run(workdir: Path, way: str, writers: int, seconds: float,
            hold_ms: float) -> tuple[list[float], int]:
    """The probe's transaction times (ms) and the writers' committed transactions."""
    database = Database(f"sqlite:///{workdir / f'w{time.monotonic_ns()}.db'}", pool_size=writers + 2)
    with database.engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE t (id INTEGER PRIMARY KEY, n INTEGER)")
    if way == BUSY:
        assert database.write_turns is not None
        database.write_turns.take = _straight_to_sqlite  # type: ignore[method-assign,assignment]
    stop = threading.Event()
    committed = [0] * writers

    def writer(k: int) -> None:
        while not stop.is_set():
            with database.sessions() as session, session.begin():
                session.execute(text("INSERT INTO t (n) VALUES (:n)"), {"n": k})
                time.sleep(hold_ms / 1000)  # the rest of a unit of work, lock held
            committed[k] += 1

    probe: list[float] = []

    def prober() -> None:
        while not stop.is_set():
            started = time.perf_counter()
            with contextlib.ExitStack() as first:
                if way == FIRST:
                    first.enter_context(writes_first())
                with database.sessions() as session, session.begin():
                    session.execute(text("INSERT INTO t (n) VALUES (-1)"))
            probe.append((time.perf_counter() - started) * 1000)
            time.sleep(0.01)

    threads = [threading.Thread(target=writer, args=(k,)) for k in range(writers)]
    threads.append(threading.Thread(target=prober))
    for thread in threads:
        thread.start()
    time.sleep(seconds)
    stop.set()
    for thread in threads:
        thread.join(60)
    database.engine.dispose()
    return probe, sum(committed)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--writers", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--repetitions", type=int, default=3)
    parser.add_argument("--hold-ms", type=float, default=2.0,
                        help="time each writer's transaction holds the lock after its INSERT")
    parser.add_argument("--no-report", action="store_true")
    args = parser.parse_args(argv if argv is not None else sys.argv[1:])
    results: dict[str, list[tuple[float, float, float]]] = {way: [] for way in WAYS}
    load_start = " ".join(f"{x:.2f}" for x in os.getloadavg())
    with tempfile.TemporaryDirectory(prefix="fd_bench_sqlite_writes_") as workdir:
        for _ in range(args.repetitions):
            for way in WAYS:
                probe, count = one_run(Path(workdir), way, args.writers, args.seconds,
                                       args.hold_ms)
                results[way].append((percentile(probe, 50), percentile(probe, 99),
                                     count / args.seconds))
                print(f"{way}: probe p50 {results[way][-1][0]:.1f} ms, p99 "
                      f"{results[way][-1][1]:.1f} ms, {results[way][-1][2]:.0f} tx/s", flush=True)
    load_end = " ".join(f"{x:.2f}" for x in os.getloadavg())

    def median(way: str, index: int) -> float:
        return statistics.median(r[index] for r in results[way])

    lines = [
        "## SQLite write transactions under contention (`bench/bench_sqlite_writes.py`)",
        "",
        f"Command: `{COMMAND} --writers {args.writers} --seconds {args.seconds:g} "
        f"--repetitions {args.repetitions} --hold-ms {args.hold_ms:g}`",
        "",
        f"- Machine: {os.cpu_count()} CPUs, Python {platform.python_version()}, "
        f"{platform.platform()}; load average at start {load_start}, at end {load_end}.",
        f"- Load: {args.writers} threads in one process, each committing write transactions "
        f"back to back (one INSERT, then {args.hold_ms:g} ms more with the lock held, as a unit "
        "of work's Python does), on a fresh WAL database in a temporary directory; a probe "
        "thread times its own one-row write transaction every 10 ms.",
        f"- Repetitions: {args.repetitions} of {args.seconds:g} s per way, alternating; "
        "figures are medians over the repetitions.",
        "- Baseline (same run): the busy handler alone, as before storage.sqlite_writes. The "
        "three ways alternate within each repetition.",
        "",
        "| | busy handler (baseline) | turns in the process | ÷ baseline | turns, probe first "
        "| ÷ baseline |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for label, index in (("probe write transaction p50 ms", 0), ("probe p99 ms", 1),
                         ("writers' transactions per second", 2)):
        base = median(BUSY, index)
        lines.append(f"| {label} | {base:.1f} | {median(TURNS, index):.1f} | "
                     f"{median(TURNS, index) / base:.3f} | {median(FIRST, index):.1f} | "
                     f"{median(FIRST, index) / base:.3f} |")
    markdown = "\n".join(lines)
    print(markdown)
    if not args.no_report:
        write_section("sqlite_writes", markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
