"""bench/bench_portal.py runs end to end (small sizes): it makes its database, serves the
portal from its own process, logs in, measures every page and drops the database."""

from __future__ import annotations

import pytest

from bench import bench_portal


def test_the_portal_benchmark_runs_small(postgres_url: str,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    assert bench_portal.main(["--database-url", postgres_url, "--sizes", "1200,1500",
                              "--seller-cases", "100", "--requests", "8", "--rounds", "1",
                              "--concurrency", "2", "--no-write"]) == 0
    out = capsys.readouterr().out
    for page in ("/healthz (baseline)", "My cases (in progress, first page)",
                 "My cases, search by order id", "Case details"):
        assert f"| 1,500 | {page} |" in out
    assert "Growth from 1,200 to 1,500 rows" in out
