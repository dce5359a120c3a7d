"""How much work each phase of the relay benchmark (`bench.bench_relay`) does: the default
sizes and the seconds-long ``--quick`` ones."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Sizes:
    """How much work each phase does (defaults: about a minute per database on 2 cores)."""

    sellers: int = 100  # concurrent simulated sellers
    followups: int = 3  # follow-up messages per seller after the case is open
    replies: int = 200  # agent replies timed one at a time
    healthz: int = 2000  # baseline requests
    roundtrips: int = 300  # baseline stand-in round trips


QUICK = Sizes(sellers=8, followups=1, replies=20, healthz=200, roundtrips=50)
