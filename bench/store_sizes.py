"""How much work each part of the case store benchmark (`bench.bench_store`) does: the default
sizes and the seconds-long ``--quick`` ones."""

from __future__ import annotations

from dataclasses import dataclass


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
