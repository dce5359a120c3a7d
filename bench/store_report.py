"""The case store benchmark's section of docs/benchmarks.md, in markdown: both parts' tables,
the lookup's size ratios and its plans."""

from __future__ import annotations

from bench.store_lookup import LookupResult
from bench.store_operations import OpsResult
from bench.store_sizes import Sizes
from bench.store_timing import Measured

COMMAND = ".venv/bin/python -m bench.bench_store"


def _row(label: str, m: Measured, base: Measured | None = None) -> str:
    ratio = f"{m.p50_ms / base.p50_ms:.1f}×" if base else "—"
    return f"| {label} | {m.ops_per_s:,.0f} | {m.p50_ms:.2f} | {m.p99_ms:.2f} | {ratio} |"


def render(sizes: Sizes, info: dict[str, str], ops: dict[str, list[OpsResult]],
           lookups: dict[str, LookupResult], elapsed_s: float, quick: bool) -> str:
    """The markdown section for docs/benchmarks.md."""
    out = ["## Case store (`bench/bench_store.py`)", "",
           f"Command: `{COMMAND}{' --quick' if quick else ''}` (total {elapsed_s:.0f} s).", ""]
    out += [f"- {k}: {v}" for k, v in info.items()]
    out += [
        "",
        "### Open a case + add a message (through `CaseService`, one transaction per call)",
        "",
        f"{sizes.reps} repetitions of {sizes.pairs} open + message pairs each; every figure is "
        "the median over the repetitions. ops/s counts each service call as one operation; "
        "*× SELECT 1* is the p50 latency over the bare `SELECT 1` round trip through the same "
        "engine, measured in the same repetitions, as a read-only unit like the app's reads "
        "(SQLite: a plain BEGIN, no write lock; PostgreSQL: autocommit). The INSERT baseline is one row into "
        "`processed_events` in its own transaction. Each `open_case` also writes the first "
        "message, a `created` event, a counter increment and two outbox items; "
        "`add_seller_message` a message, the case's `updated_at` and an outbox item.",
        "",
    ]
    for dbname, results in ops.items():
        for r in results:
            out += [f"**{dbname}, {r.threads} thread{'s' if r.threads > 1 else ''}**", "",
                    "| operation | ops/s | p50 ms | p99 ms | p50 × SELECT 1 |",
                    "|---|---:|---:|---:|---:|",
                    _row("baseline: `SELECT 1`", r.select1),
                    _row("baseline: one-row INSERT + commit", r.insert1, r.select1),
                    _row("`open_case`", r.open_case, r.select1),
                    _row("`add_seller_message`", r.add_message, r.select1),
                    _row("open + message (pair latency; ops/s = calls)", r.pair, r.select1),
                    ""]
    out += [
        "### Find the active case for an issue",
        "",
        "Cases bulk-loaded in SQL (PostgreSQL `INSERT … SELECT generate_series`, then `ANALYZE` as "
        "autovacuum would; SQLite a recursive-CTE `INSERT`, no `ANALYZE`, as the app runs it) "
        f"over {sizes.sellers:,} sellers, ten types, three cases per order id, 12 % active, "
        "3 % declined, the rest closed. Each repetition looks up "
        f"{sizes.lookups:,} issues, half with an active case and half without (a new issue); "
        f"medians of {sizes.lookup_reps} repetitions. *service*: `CaseService.find_active_case` "
        "(session + transaction per call); *query*: `SqlCaseRepository.find_active` in one open "
        "session (the statement alone).",
        "",
        "| database | cases | load s | service p50 ms | service p99 ms | query p50 ms "
        "| query p99 ms | SELECT 1 p50 ms | index used |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for dbname, lr in lookups.items():
        for s in (lr.small, lr.big):
            idx = s.plans.index if s.plans else "?"
            if s.plans and s.plans.generic_index:
                idx += f" (generic plan: {s.plans.generic_index})"
            out.append(f"| {dbname} | {s.cases:,} | {s.load_s:.1f} | {s.service.p50_ms:.3f} | "
                       f"{s.service.p99_ms:.3f} | {s.query.p50_ms:.3f} | {s.query.p99_ms:.3f} | "
                       f"{s.select1.p50_ms:.3f} | `{idx}` |")
    out += ["", "Ratio of p50 at the big size to p50 at the small size (≈ 1 means the cost "
            "does not grow with the table):", ""]
    for dbname, lr in lookups.items():
        base = lr.ratio("select1")
        out.append(f"- {dbname}: service {lr.ratio('service'):.2f}, query {lr.ratio('query'):.2f}, "
                   f"SELECT 1 baseline {base:.2f}; divided by the baseline's ratio (noise of the "
                   f"machine removed): service {lr.ratio('service') / base:.2f}, query "
                   f"{lr.ratio('query') / base:.2f} ({lr.small.cases:,} → {lr.big.cases:,} cases)")
    for dbname, lr in lookups.items():
        plans = lr.big.plans
        if plans is None:
            continue
        out += ["", f"{dbname} plan of the lookup at {lr.big.cases:,} cases:", "", "```text",
                plans.sql.strip(), "", plans.plan]
        if plans.generic_plan:
            out += ["", "generic plan (plan_cache_mode = force_generic_plan):", plans.generic_plan]
        out.append("```")
    return "\n".join(out) + "\n"
