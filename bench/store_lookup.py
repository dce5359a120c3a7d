"""Part 2 of the case store benchmark: `CaseService.find_active_case` (and the repository query
alone) timed at a small and at a big bulk-loaded table, with the lookup's plan checked at
each size."""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field

from sqlalchemy import text

from bench.store_bulk_load import bulk_load_cases, bulk_load_sellers, issue_of
from bench.store_lookup_plan import Plans, explain_find_active
from bench.store_operations import make_service, select1_baseline
from bench.store_sizes import Sizes
from bench.store_timing import Measured, run_threads
from bot.cases import CaseService
from storage.database import Database
from storage.repositories import SqlCaseRepository


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
    select_op = select1_baseline(db)
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
