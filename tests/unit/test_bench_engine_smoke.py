"""The engine benchmark runs at a tiny size (a slow fake classifier stands in for Rasa), so
its interleaved measurement and its report cannot rot."""

from __future__ import annotations

import asyncio

from bench import bench_engine as be
from bench.bench_store import scratch_sqlite
from bot.classification import Classification
from tests.fakes import FakeClassifier


class SlowFake:
    """A stand-in for Rasa that takes a couple of milliseconds, like a parse."""

    def __init__(self) -> None:
        self.inner = FakeClassifier(dict(be.RULES), default=None)

    async def classify(self, text: str) -> Classification:
        await asyncio.sleep(0.002)
        return await self.inner.classify(text)


async def test_interleaved_rounds_and_report() -> None:
    with scratch_sqlite() as url:
        result = await be.bench_database("SQLite", url, SlowFake(), sellers=2, rounds=2,
                                          concurrency=2)
    assert len(result.rounds) == 2
    for r in result.rounds:
        assert len(r.raw_ms) == len(r.e2e_ms) == 2 * 5  # 5 typed messages per seller
        assert len(r.critical_ms) == len(r.inner_parse_ms) == len(r.finish_ms) == 10
        assert all(c < e for c, e in zip(r.critical_ms, r.e2e_ms, strict=True))
    counts = result.counts
    assert counts is not None and sum(counts.statements.values()) > 0
    assert result.write_ms > 0 and result.round_trip_ms > 0

    text = be.report([result], "cmd", 1.0, 2, 2, 2, (0.0, 0.0, 0.0), (0.0, 0.0, 0.0))
    assert "| SQLite | median |" in text
    assert "target < 20%" in text
    assert "Statements per message" in text
