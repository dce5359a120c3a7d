"""What a seller's language costs per text: ``t()`` for an English and a Chinese seller, and
a date in their locale and zone, against the plain ``str.format`` of the same English text
(what ``t()`` did before the catalogues), in the same run; and loading a catalogue from its
``.po`` (a checkout without ``.mo``) against from its ``.mo``.

``python -m bench.bench_texts [--calls N] [--repeat R] [--no-write]`` writes the section
``texts`` of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import gettext
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from bench.report import write_section
from bot import i18n
from bot.texts import CATALOGUE, t

#: Texts as a turn renders them: plain, with values, a plural, a label.
SAMPLE: list[tuple[str, dict[str, object]]] = [
    ("case.opened", {"number": "CX-000042", "title": "Payments · 240518K7QW93XZ", "hours": 24}),
    ("status.pending", {"number": "CX-000042"}),
    ("button.new_case", {}),
    ("intake.confirm_type", {"type": "Payments"}),
    ("smalltalk.greet", {"name": "Ada"}),
    ("refused.daily_cap", {"limit": 5}),
]
MOMENT = datetime(2026, 11, 30, 16, 45, tzinfo=UTC)


def _per_call_us(fn: Callable[[], object], calls: int) -> float:
    started = time.perf_counter()
    for _ in range(calls):
        fn()
    return (time.perf_counter() - started) / calls * 1e6


def _texts(calls: int) -> dict[str, float]:
    def english_format() -> None:
        for key, values in SAMPLE:
            CATALOGUE[key].format(**values)

    def render() -> None:
        for key, values in SAMPLE:
            t(key, **values)

    def date() -> None:
        i18n.when(MOMENT)

    rounds = calls // len(SAMPLE)
    row = {"baseline: str.format (English)": _per_call_us(english_format, rounds) / len(SAMPLE)}
    row["t() English seller"] = _per_call_us(render, rounds) / len(SAMPLE)
    with i18n.speaking(i18n.speaker(i18n.CHINESE)):
        row["t() Chinese seller"] = _per_call_us(render, rounds) / len(SAMPLE)
        row["i18n.when() Chinese, Asia/Shanghai"] = _per_call_us(date, calls)
    row["i18n.when() English, UTC"] = _per_call_us(date, calls)
    return row


def _loading(repeat: int) -> dict[str, float]:
    po = i18n.catalogue_path(i18n.CHINESE)
    with tempfile.TemporaryDirectory() as tmp:
        mo = Path(tmp) / "messages.mo"
        with po.open("rb") as source, mo.open("wb") as out:
            write_mo(out, read_po(source))
        times: dict[str, list[float]] = {"from .po (compiled in memory)": [],
                                         "from .mo": []}
        for _ in range(repeat):
            started = time.perf_counter()
            i18n.compile_po(po)
            times["from .po (compiled in memory)"].append(time.perf_counter() - started)
            started = time.perf_counter()
            with mo.open("rb") as compiled:
                gettext.GNUTranslations(compiled)
            times["from .mo"].append(time.perf_counter() - started)
    return {name: statistics.median(values) * 1e3 for name, values in times.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=60_000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)
    i18n.translations(i18n.CHINESE)  # loaded once per process, as in the server
    runs = [_texts(args.calls) for _ in range(args.repeat)]
    medians = {name: statistics.median(run[name] for run in runs) for name in runs[0]}
    loading = _loading(args.repeat)
    baseline = medians["baseline: str.format (English)"]
    lines = [
        "## Texts in the seller's language (issue 16)",
        "",
        f"Command: `.venv/bin/python -m bench.bench_texts --calls {args.calls} --repeat "
        f"{args.repeat}`",
        "",
        f"Machine: CPUs (nproc): {os.cpu_count()}; load average at start: "
        f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}; {platform.platform()}; Python "
        f"{sys.version.split()[0]}.",
        "",
        f"**Load.** {args.calls:,} renderings per repetition of {len(SAMPLE)} texts a turn "
        "sends (plain, with values, a plural, a button); a date and time the same number of "
        f"times. **Repetitions:** {args.repeat}, medians. **Baseline, same run:** the plain "
        "`str.format` of the same English texts (what `t()` cost before the catalogues).",
        "",
        "| rendering | µs per text (median) | × baseline |",
        "| --- | ---: | ---: |",
    ]
    for name, value in medians.items():
        lines.append(f"| {name} | {value:.2f} | {value / baseline:.1f}× |")
    lines += ["", "Loading the Chinese catalogue once per process (median of "
              f"{args.repeat}):", "", "| from | ms |", "| --- | ---: |"]
    lines += [f"| {name} | {value:.2f} |" for name, value in loading.items()]
    markdown = "\n".join(lines)
    print(markdown)
    if not args.no_write:
        write_section("texts", markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
