"""Timing for the case store benchmark: repeated measurements of throughput and latency
percentiles (the report shows medians over the repetitions), and running an operation on N
threads from a common start."""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from bench.report import percentile


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
