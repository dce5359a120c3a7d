"""The sweeps benchmark runs end to end on a small SQLite table (keeps bench/ from rotting)."""

from __future__ import annotations

import pytest

from bench import bench_sweeps


def test_bench_sweeps_smoke(capsys: pytest.CaptureFixture[str]) -> None:
    assert bench_sweeps.main(["--rows", "4000", "--small", "400", "--repeat", "1",
                              "--skip-pg", "--no-write"]) == 0
    out = capsys.readouterr().out
    assert "**SQLite**: all claims use an index" in out
    assert "| SQLite | 4,000 | 40 | 40 |" in out
