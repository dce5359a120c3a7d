"""The case store benchmark runs at a tiny size and its plan check works (so it cannot rot)."""

from __future__ import annotations

import math
import os
import uuid

import pytest
from sqlalchemy import text

from bench import bench_store as bs
from storage.database import Database

TINY = bs.Sizes(pairs=4, threads=2, reps=2, small=200, big=2_000, lookups=20, lookup_reps=2,
                sellers=50)


def _sane(m: bs.Measured) -> None:
    assert len(m.runs) >= 1
    assert 0 < m.ops_per_s < math.inf
    assert 0 < m.p50_ms <= m.p99_ms < 60_000


def _check(ops: list[bs.OpsResult], lookup: bs.LookupResult, postgres: bool) -> None:
    assert [r.threads for r in ops] == [1, 2]
    for r in ops:
        for m in (r.pair, r.open_case, r.add_message, r.select1, r.insert1):
            _sane(m)
        assert r.pair.p50_ms >= r.open_case.p50_ms
    assert (lookup.small.cases, lookup.big.cases) == (TINY.small, TINY.big)
    for size in (lookup.small, lookup.big):
        for m in (size.service, size.query, size.select1):
            _sane(m)
        assert size.plans is not None
        assert size.plans.index in bs.ISSUE_INDEXES
        assert "FROM cases" in size.plans.sql
        if postgres:
            assert size.plans.generic_index in bs.ISSUE_INDEXES
    assert 0 < lookup.ratio("service") < math.inf
    md = bs.render(TINY, bs.machine(None), {"db": ops}, {"db": lookup}, 1.0, quick=True)
    assert bs.COMMAND in md and "p99" in md


def test_sqlite_benchmark_runs_at_a_tiny_size() -> None:
    with bs.scratch_sqlite() as url:
        ops, lookup = bs.bench_database(url, TINY, (1, 2), lambda _m: None)
    _check(ops, lookup, postgres=False)


def test_postgres_benchmark_runs_at_a_tiny_size() -> None:
    server = os.environ.get("FRONTDOOR_TEST_DATABASE_URL")
    if not server:
        if os.environ.get("CI"):
            pytest.fail("CI must run the PostgreSQL tests: FRONTDOOR_TEST_DATABASE_URL is not set")
        pytest.skip("PostgreSQL not configured (FRONTDOOR_TEST_DATABASE_URL unset)")
    with bs.scratch_postgres(server, f"fd_bench_smoke_{uuid.uuid4().hex[:8]}") as url:
        ops, lookup = bs.bench_database(url, TINY, (1, 2), lambda _m: None)
    _check(ops, lookup, postgres=True)


def test_plan_check_accepts_issue_indexes_and_refuses_scans() -> None:
    assert bs.check_plan("sqlite", "SEARCH cases USING INDEX ix_cases_issue (seller_id=? AND "
                         "case_type=?)") == "ix_cases_issue"
    assert bs.check_plan("postgresql", "Index Scan using uq_cases_active_issue on cases  "
                         "(cost=0.42..8.44 rows=1)") == "uq_cases_active_issue"
    assert bs.check_plan("postgresql", "Bitmap Heap Scan on cases\n  ->  Bitmap Index Scan on "
                         "ix_cases_issue") == "ix_cases_issue"
    for dialect, plan in [
        ("sqlite", "SCAN cases"),
        ("postgresql", "Seq Scan on cases  (cost=0.00..35811.00 rows=1)"),
        ("postgresql", "Gather\n  ->  Parallel Seq Scan on cases"),
        ("sqlite", "SEARCH cases USING INDEX ix_cases_seller_created (seller_id=?)"),
        ("postgresql", "Index Scan using ix_cases_status_changed on cases"),
    ]:
        with pytest.raises(bs.PlanError):
            bs.check_plan(dialect, plan)


def test_plan_check_fails_loudly_without_the_issue_index() -> None:
    """On SQLite the partial unique index cannot serve the parameterised status IN (...), so
    without ix_cases_issue the lookup falls back to a seller-only index: detected."""
    with bs.scratch_sqlite() as url:
        db = Database(url)
        try:
            assert bs.explain_find_active(db, 1, "order", "A-1").index in bs.ISSUE_INDEXES
            with db.engine.begin() as conn:
                conn.execute(text("DROP INDEX ix_cases_issue"))
            # New connections: pysqlite caches prepared statements, and EXPLAIN QUERY PLAN of
            # a cached one would still show the plan from before the DROP.
            db.dispose()
            with pytest.raises(bs.PlanError):
                bs.explain_find_active(db, 1, "order", "A-1")
        finally:
            db.dispose()
