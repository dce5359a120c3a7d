"""The engine benchmark runs at a tiny size against a keyword stand-in of Rasa's HTTP API, so
its measurements (critical path and baselines per repetition, the client against a bare POST,
the prefetch A/B, statements, throughput) and its report cannot rot."""

from __future__ import annotations

import argparse

from bench import bench_engine as be
from bench.keyword_rasa import KeywordRasa
from bench.scratch_databases import scratch_sqlite
from nlu.client import RasaClassifier


async def test_repetitions_baselines_and_report() -> None:
    args = argparse.Namespace(sellers=2, rounds=2, concurrency=2, command="cmd")
    with KeywordRasa().running_in_thread() as nlu, scratch_sqlite() as url:
        client = RasaClassifier(nlu.origin, timeout=10.0)
        try:
            result = await be.bench_database("SQLite", url, client, nlu.origin, args)
        finally:
            await client.aclose()
    assert len(result.rounds) == 2
    for r in result.rounds:
        # Sellers alternate: seller 0 runs the engine as is, seller 1 the A/B's variant B.
        assert len(r.critical()) == len(r.e2e_ms) == len(r.e2e_yield_ms) == 5
        assert all(c > 0 for c in r.critical())
        assert r.write_ms > 0 and r.select_ms > 0
    assert [len(c.bare_ms) for c in result.clients] == [10, 10]
    assert all(len(runs) == 2 for runs in result.runs.values())  # every row repeated
    assert len(result.runs) == 3
    counts = result.counts
    assert counts is not None and sum(counts.statements.values()) > 0

    text = be.report([result], args, 1.0, ((0.0, 0.0, 0.0), (0.0, 0.0, 0.0)))
    assert "| SQLite | median |" in text
    assert "target ≤ 2×" in text
    assert "overhead p50 ms" in text and "B (yields)" in text
    assert "Statements per message" in text
