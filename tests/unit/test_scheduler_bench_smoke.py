"""The sweeps benchmark runs end to end on a small SQLite table (keeps bench/ from rotting)."""

from __future__ import annotations

import pytest

from bench import bench_sweeps


def test_bench_sweeps_smoke(capsys: pytest.CaptureFixture[str]) -> None:
    assert bench_sweeps.main(["--rows", "4000", "--small", "400", "--repeat", "1",
                              "--skip-pg", "--no-write"]) == 0
    out = capsys.readouterr().out
    # The plan check ran and found no sequential scan; the large run acted on every due case.
    assert "statements, no sequential scan" in out and "SEQUENTIAL SCANS" not in out
    assert "| SQLite | 4,000 | 40 | 40 |" in out
