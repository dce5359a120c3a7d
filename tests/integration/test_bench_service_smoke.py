"""The whole-service load test runs at a tiny size (a real `frontdoor serve`, the real Rasa
model, the stand-ins), so its traffic, its measurements and its report cannot rot."""

from __future__ import annotations

import argparse
from pathlib import Path

from bench import bench_service as bs
from bench.service_work import cpu_bound_rate


def test_a_tiny_load_is_answered_and_reported(rasa_url: str, tmp_path: Path) -> None:
    args = argparse.Namespace(sellers=3, agents=1, seconds=4.0, rasa_seconds=1.0,
                              webhook_connections=4,
                              serve_setting=["FRONTDOOR_URGENT_WORK_FIRST=true"],
                              agent_every=0.5)
    with bs.sqlite_database() as url:
        run = bs.run_database("SQLite", url, 1, rasa_url, args, tmp_path)
    m = run.measured
    assert m.errors == {} and run.log_errors == 0 and run.dead_letters == 0
    assert m.cases_opened == 3
    assert m.typed_answered_in_window >= 3 and len(m.typed_ms) >= 3  # describe + follow-ups
    assert m.agent_ms and all(ms > 0 for ms in m.agent_ms)  # agents' replies reached sellers
    assert m.probe_ms and run.standin_p50_ms > 0 and run.rasa_rps > 0
    assert {"sqlite-serve1", "rasa"} <= set(run.rss_mb)
    # The dispatcher's counters came from the serve process's /metrics.
    assert run.dispatch["delivered"] >= m.typed_answered_in_window
    assert run.dispatch["claims with items"] >= 1 and run.dispatch["record transactions"] >= 1

    text = bs.render([run], args, 1.0, ("0", "0"))
    assert "typed throughput ÷ raw Rasa" in text and "agent reply -> seller" in text
    assert "outbox claim transactions per item delivered" in text
    assert "upper bound with a core per serve process" in text
    # the serve process's CPU was measured
    assert cpu_bound_rate(m.typed_answered_in_window, run.cpu_s, run.rasa_rps) != "–"
