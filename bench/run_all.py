"""`make bench`: run every benchmark in turn; each writes its own section of
docs/benchmarks.md."""

from __future__ import annotations

import importlib
import sys

BENCHMARKS = ("bench_store", "bench_nlu", "bench_engine", "bench_relay", "bench_service",
              "bench_sweeps", "bench_texts")


def main() -> int:
    failed = []
    for name in BENCHMARKS:
        try:
            module = importlib.import_module(f"bench.{name}")
        except ModuleNotFoundError as exc:
            print(f"== {name}: missing ({exc})", file=sys.stderr)
            failed.append(name)
            continue
        print(f"== {name}", flush=True)
        if module.main([]) not in (0, None):
            failed.append(name)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
