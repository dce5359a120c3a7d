"""The engine bench's results and the rows of its report tables: critical path, per message,
client overhead, the A/B of yields, throughput runs and statement counts."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from bench.engine_measures import STEPS, ClientOverhead, Counts, Round, Run, median
from bench.report import percentile

# The critical path after the NLU answers, against a bare durable write transaction.
TARGET_RATIO = 2.0


@dataclass
class Result:
    name: str
    rounds: list[Round] = field(default_factory=list)
    clients: list[ClientOverhead] = field(default_factory=list)
    runs: dict[str, list[Run]] = field(default_factory=dict)  # label -> one per repetition
    counts: Counts | None = None

    def add(self, run: Run) -> None:
        self.runs.setdefault(run.label, []).append(run)


def _f(value: float) -> str:
    return f"{value:.2f}"


def _med(rounds: Sequence[Round], fn: Callable[[Round], float]) -> float:
    return median([fn(r) for r in rounds])


def critical_rows(res: Result) -> list[str]:
    rows = []
    for n, r in enumerate(res.rounds, 1):
        c = r.critical()
        rows.append(f"| {res.name} | {n} | {len(c)} | {_f(median(c))} | {_f(percentile(c, 99))} "
                    f"| {_f(r.write_ms)} | **{median(c) / r.write_ms:.1f}×** | "
                    f"{_f(r.select_ms)} |")
    if res.rounds:
        rs = res.rounds
        ratio = _med(rs, lambda r: median(r.critical()) / r.write_ms)
        rows.append(f"| {res.name} | median | {sum(len(r.critical()) for r in rs)} | "
                    f"{_f(_med(rs, lambda r: median(r.critical())))} | — | "
                    f"{_f(_med(rs, lambda r: r.write_ms))} | **{ratio:.1f}×** | "
                    f"{_f(_med(rs, lambda r: r.select_ms))} |")
    return rows


def step_rows(res: Result) -> list[str]:
    rows = []
    for n, label in enumerate(STEPS):
        if not any(n in r.critical_ms for r in res.rounds):
            continue
        p50 = median([median(r.critical_ms.get(n, [])) for r in res.rounds])
        write = _med(res.rounds, lambda r: r.write_ms)
        rows.append(f"| {res.name} | {label} | {_f(p50)} | {p50 / write:.1f}× |")
    return rows


def verdict(res: Result) -> str:
    if not res.rounds:
        return f"- **{res.name}**: Rasa was not measured in this run."
    ratio = _med(res.rounds, lambda r: median(r.critical()) / r.write_ms)
    per_round = ", ".join(f"{median(r.critical()) / r.write_ms:.1f}×" for r in res.rounds)
    return (f"- **{res.name}**: critical path p50 = **{ratio:.1f}×** a bare durable write "
            f"transaction (rounds: {per_round}); target ≤ {TARGET_RATIO:g}×: "
            f"**{'met' if ratio <= TARGET_RATIO else 'NOT met'}**.")


def client_rows(res: Result) -> list[str]:
    rows = []
    for n, c in enumerate(res.clients, 1):
        rows.append(f"| {res.name} | {n} | {len(c.bare_ms)} | {_f(median(c.bare_ms))} | "
                    f"{_f(median(c.client_ms))} | {_f(c.paired_ms())} | "
                    f"{_f(percentile(c.bare_ms, 99))} | {_f(percentile(c.client_ms, 99))} |")
    return rows


def ab_rows(res: Result) -> list[str]:
    rows = []
    for n, r in enumerate(res.rounds, 1):
        rows.append(f"| {res.name} | {n} | {len(r.e2e_ms)} / {len(r.e2e_yield_ms)} | "
                    f"{_f(median(r.e2e_ms))} | {_f(median(r.e2e_yield_ms))} | "
                    f"{_f(median(r.critical()))} | {_f(median(r.critical_yield_ms))} |")
    return rows


def ab_verdict(res: Result) -> str:
    """How the two variants compared, per database, in this run's numbers."""
    if not res.rounds:
        return f"- **{res.name}**: not measured (no Rasa)."
    e2e = [median(r.e2e_yield_ms) - median(r.e2e_ms) for r in res.rounds]
    crit = [median(r.critical_yield_ms) - median(r.critical()) for r in res.rounds]
    faster = sum(d < 0 for d in e2e)
    base = median([median(r.e2e_ms) for r in res.rounds])
    return (f"- **{res.name}**: B faster end to end in {faster} of {len(e2e)} repetitions; "
            f"median difference (B − A) {median(e2e):+.2f} ms end to end "
            f"({100 * median(e2e) / base:+.1f}%), {median(crit):+.2f} ms on the critical path.")


def run_rows(res: Result) -> list[str]:
    rows = []
    for label, runs in res.runs.items():
        rates = [r.rate for r in runs]
        rows.append(
            f"| {res.name}: {label} | {len(runs)} | {median(rates):,.0f} "
            f"({min(rates):,.0f}–{max(rates):,.0f}) | "
            f"{_f(median([percentile(r.all_ms, 50) for r in runs]))} | "
            f"{_f(median([percentile(r.all_ms, 99) for r in runs]))} | "
            f"**{_f(median([percentile(r.text_ms, 50) for r in runs]))}** | "
            f"**{_f(median([percentile(r.text_ms, 99) for r in runs]))}** |")
    return rows


def count_rows(res: Result) -> list[str]:
    c = res.counts
    if c is None or not c.sellers:
        return []
    rows = []
    for n, label in enumerate(STEPS):
        rows.append(f"| {res.name} | {label} | {c.statements[n] / c.sellers:g} | "
                    f"{c.writes[n] / c.sellers:g} | {c.reads[n] / c.sellers:g} | "
                    f"{c.checkouts[n] / c.sellers:g} |")
    total = [sum(x.values()) / c.sellers for x in (c.statements, c.writes, c.reads, c.checkouts)]
    rows.append(f"| {res.name} | **the 6 messages** | **{total[0]:g}** | {total[1]:g} | "
                f"{total[2]:g} | {total[3]:g} |")
    return rows
