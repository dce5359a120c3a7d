"""bench_texts runs and reports every row (tiny numbers; the real run is `make bench`)."""

from __future__ import annotations

import pytest

from bench import bench_texts


def test_bench_texts_smoke(capsys: pytest.CaptureFixture[str]) -> None:
    assert bench_texts.main(["--calls", "60", "--repeat", "1", "--no-write"]) == 0
    out = capsys.readouterr().out
    for row in ("baseline: str.format (English)", "t() English seller", "t() Chinese seller",
                "i18n.when() Chinese, Asia/Shanghai", "from .po (compiled in memory)",
                "from .mo"):
        assert f"| {row} |" in out
