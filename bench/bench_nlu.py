"""NLU parse latency and throughput per language: the app's client vs raw ``POST /model/parse``.

Usage: ``python -m bench.bench_nlu [--requests 200] [--concurrency 8] [--runs 5] [--no-write]``

Starts its own Rasa server on 127.0.0.1 with the current model (training it first if needed)
and scores it on the final test sets, per language (the numbers of ``frontdoor nlu evaluate``:
the app's rule, the TF-IDF baselines). Then, for each language, it sends that language's
final-set messages in turn and reports medians over ``--runs`` of: p50/p99 latency of one
request at a time, and requests per second with ``--concurrency`` requests in flight. Each run
measures the client (``RasaClassifier.classify``: HTTP + JSON + entity extraction) and the raw
endpoint (a bare ``httpx`` POST, the baseline) back to back, alternating which goes first. The
load is bounded: ``requests x 2 x 2 x languages x runs`` requests in total, loopback only.
Writes the "nlu" section of docs/benchmarks.md unless ``--no-write``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx

from bench.report import percentile, write_section
from bot.dialogue.config import EngineConfig
from frontdoor.settings import load_settings
from nlu.client import RasaClassifier
from nlu.evaluation import LANGUAGES, EvaluationReport, LanguageReport, evaluate, evaluation_set
from nlu.evaluation_report import LANGUAGE_NAMES
from nlu.project import RasaProject, model_path, read_examples
from nlu.server import nlu_service
from nlu.training import training_info_path

Call = Callable[[str], Awaitable[object]]


@dataclass
class RunResult:
    p50_ms: float
    p99_ms: float
    rps: float


async def _sequential(call: Call, texts: list[str], count: int) -> list[float]:
    latencies: list[float] = []
    for i in range(count):
        started = time.perf_counter()
        await call(texts[i % len(texts)])
        latencies.append((time.perf_counter() - started) * 1000)
    return latencies


async def _concurrent(call: Call, texts: list[str], count: int, concurrency: int) -> float:
    """Requests per second with ``concurrency`` workers sharing ``count`` requests."""
    next_index = iter(range(count))

    async def worker() -> None:
        for i in next_index:
            await call(texts[i % len(texts)])

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return count / (time.perf_counter() - started)


async def _measure(call: Call, texts: list[str], count: int, concurrency: int) -> RunResult:
    latencies = await _sequential(call, texts, count)
    rps = await _concurrent(call, texts, count, concurrency)
    return RunResult(percentile(latencies, 50), percentile(latencies, 99), rps)


async def _bench(url: str, texts: list[str], count: int, concurrency: int,
                 runs: int) -> dict[str, list[RunResult]]:
    results: dict[str, list[RunResult]] = {"client": [], "raw": []}
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with RasaClassifier(url, timeout=30, retries=0) as nlu, \
            httpx.AsyncClient(timeout=30, limits=limits) as raw_http:

        async def via_client(text: str) -> object:
            result = await nlu.classify(text)
            if not result.available:
                raise RuntimeError("the NLU server stopped answering")
            return result

        async def via_raw(text: str) -> object:
            response = await raw_http.post(f"{url}/model/parse", json={"text": text})
            response.raise_for_status()
            return response.json()

        for text in texts[:20]:  # warm-up: connections, Rasa's first-call costs
            await via_client(text)
            await via_raw(text)
        for run in range(runs):
            order = [("client", via_client), ("raw", via_raw)]
            if run % 2:
                order.reverse()
            for name, call in order:
                results[name].append(await _measure(call, texts, count, concurrency))
                print(f"run {run + 1}/{runs} {name}: {results[name][-1]}", file=sys.stderr, flush=True)
    return results


def _median(results: list[RunResult], field: str) -> float:
    return float(statistics.median(getattr(r, field) for r in results))


def _quality_rows(lang: LanguageReport) -> list[str]:
    a, t, ba, b = lang.app, lang.top, lang.baseline_app, lang.baseline
    name = LANGUAGE_NAMES.get(lang.language, lang.language)
    return [
        f"| {name} | macro-F1 | {a.macro_f1:.3f} | {t.macro_f1:.3f} | {ba.macro_f1:.3f} | {b.macro_f1:.3f} |",
        f"| {name} | accuracy | {a.accuracy:.3f} | {t.accuracy:.3f} | {ba.accuracy:.3f} | {b.accuracy:.3f} |",
        f"| {name} | out_of_scope recall | {a.recall('out_of_scope'):.3f} | {t.recall('out_of_scope'):.3f} | "
        f"{ba.recall('out_of_scope'):.3f} | {b.recall('out_of_scope'):.3f} |",
    ]


def _quality(report: EvaluationReport, training: dict[str, object] | None) -> list[str]:
    trained = (f"Training time of this model: {training['seconds']} s on {training['threads']} threads "
               f"(`frontdoor nlu train`, {training['trained_at']})." if training else
               "Training time: not recorded for this model (trained before the timing was kept).")
    sizes = "; ".join(f"{LANGUAGE_NAMES.get(k, k)}: {v.test_examples} test messages, "
                      f"{v.train_examples} training examples" for k, v in report.languages.items())
    targets = [f"{lang} {t.name} {'met' if t.met else 'NOT MET'} ({t.check})"
               for lang, v in report.languages.items() for t in v.targets()]
    return [
        "### Classification quality (`frontdoor nlu evaluate`, final test sets, same run)",
        "",
        f"{sizes}. The final sets (`nlu/rasa/tests/final_*.yml`) were written before the models "
        "they score and were not looked at while tuning: the pipeline, the data and the "
        "thresholds were tuned on the development sets (`dev_*.yml`; `frontdoor nlu evaluate "
        "--set dev`). The Chinese one is the fourth edition (280 lines), written blind after the "
        "first three had been read while tuning or judging (both joined the development set; "
        "nlu/README.md). No line of "
        "either is a near-duplicate of a training line of its label (punctuation, spacing, "
        "full-width forms, Traditional characters or one word apart; tests/unit/test_nlu_data.py).",
        "",
        f"**app**: the app's decision rule, the client's top intent when its confidence is at "
        f"least the engine's threshold ({report.threshold} for a case type; for a conversational "
        "intent " + ", ".join(f"{v.action_threshold} in {LANGUAGE_NAMES.get(k, k)}"
                              for k, v in report.languages.items()) + "), otherwise no intent "
        "(the engine asks and opens no case), counted as out_of_scope. **top**: the top intent at any "
        "confidence. **TF-IDF + LR**: the baseline of the language (logistic regression on "
        "TF-IDF word 1-2 grams for English, character 1-3 grams for Chinese, trained on the same "
        "training examples of that language), its top label; **TF-IDF app**: the same threshold "
        "on its probability. Rasa's own `nlu_fallback` plays no part.",
        "",
        "| language | metric | app | top | TF-IDF app | TF-IDF + LR |",
        "|---|---|---:|---:|---:|---:|",
        *[row for lang in report.languages.values() for row in _quality_rows(lang)],
        "",
        "Targets: " + "; ".join(targets) + ".",
        "How sure each top-label comparison is (a paired bootstrap over the set's messages, "
        "nlu/paired_bootstrap.py): " + "; ".join(
            f"{LANGUAGE_NAMES.get(k, k)} " + v.top_vs_baseline.describe("top", "TF-IDF + LR")
            for k, v in report.languages.items() if v.top_vs_baseline is not None) + ".",
        "How one model for both languages and its classifier were chosen (development sets, "
        "with the numbers): [nlu/README.md](../nlu/README.md#two-languages-one-model); the English "
        "scores before Chinese was added, measured first on the same final set: "
        "[nlu/README.md](../nlu/README.md#before-chinese-the-english-baseline-of-issue-16); "
        "how the threshold was chosen (development sets): "
        "[nlu/README.md](../nlu/README.md#the-decision-threshold).",
        trained,
        "",
    ]


def _markdown(command: str, model: str, texts: dict[str, list[str]], args: argparse.Namespace,
              results: dict[str, dict[str, list[RunResult]]], quality: list[str]) -> str:
    rows = []
    overheads = []
    for lang, by_path in results.items():
        name = LANGUAGE_NAMES.get(lang, lang)
        for path, label in (("client", "app client (`RasaClassifier.classify`)"),
                            ("raw", "raw `POST /model/parse` (baseline)")):
            rs = by_path[path]
            rows.append(f"| {name} | {label} | {_median(rs, 'p50_ms'):.1f} | {_median(rs, 'p99_ms'):.1f} | "
                        f"{_median(rs, 'rps'):.1f} |")
        # round first: "-0.0" reads like a finding
        overhead = round(_median(by_path["client"], "p50_ms") - _median(by_path["raw"], "p50_ms"), 1) + 0.0
        overheads.append(f"{name} {overhead:+.1f} ms")
    counts = ", ".join(f"{len(v)} {LANGUAGE_NAMES.get(k, k)}" for k, v in texts.items())
    return "\n".join([
        "## NLU: parse latency and throughput, per language",
        "",
        f"Command: `{command}`  ",
        f"Run: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} CPUs, Python "
        f"{platform.python_version()} (app) against Rasa 3.6.21 on 127.0.0.1, model `{model[:12]}` "
        "(one model for English and Chinese).  ",
        f"Load: per language, {args.requests} requests sequentially (latency) then {args.requests} "
        f"with {args.concurrency} in flight (throughput), per path and run; {args.runs} runs; "
        f"messages cycled from the final test sets ({counts}). Figures are medians over the runs; "
        "the baseline is the raw endpoint, measured in the same run.",
        "",
        "| language | path | p50 latency (ms) | p99 latency (ms) | requests/s |",
        "|---|---|---:|---:|---:|",
        *rows,
        "",
        f"Client overhead at p50: {'; '.join(overheads)} (entity regexes, JSON to `Classification`). "
        "Rasa parses one message at a time, so throughput is bounded by the server, not the client. "
        "The machine is shared (2 cores), so single runs vary; compare the rows of one run.",
        "",
        *quality,
    ])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_nlu", description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=200, help="requests per measurement (max 2000)")
    parser.add_argument("--concurrency", type=int, default=8, help="requests in flight (max 32)")
    parser.add_argument("--runs", type=int, default=5, help="repetitions; medians are reported (max 10)")
    parser.add_argument("--no-write", action="store_true", help="print only, leave docs/benchmarks.md")
    args = parser.parse_args(argv if argv is not None else sys.argv[1:])
    # Bounded load, whatever is asked.
    args.requests = max(10, min(args.requests, 2000))
    args.concurrency = max(1, min(args.concurrency, 32))
    args.runs = max(1, min(args.runs, 10))
    settings = load_settings()
    project = RasaProject()
    texts = {lang: [text for text, _ in read_examples(evaluation_set(project, "final", lang))]
             for lang in LANGUAGES}
    command = "python -m bench.bench_nlu " + " ".join(
        f"--{k} {v}" for k, v in (("requests", args.requests), ("concurrency", args.concurrency),
                                  ("runs", args.runs)))
    # Always a server of our own on loopback, never FRONTDOOR_NLU_URL: the load stays local.
    with nlu_service(None, settings.frontdoor_cache_dir, port=0, project=project) as url:
        # The engine's rule, as `frontdoor nlu evaluate` builds it from the settings.
        report = evaluate(url, project, "final", EngineConfig(nlu_threshold=settings.frontdoor_nlu_threshold))
        results = {lang: asyncio.run(_bench(url, lang_texts, args.requests, args.concurrency, args.runs))
                   for lang, lang_texts in texts.items()}
    model = model_path(settings.frontdoor_cache_dir, project)
    info = training_info_path(model)
    training = json.loads(info.read_text()) if info.is_file() else None
    markdown = _markdown(command, model.name, texts, args, results, _quality(report, training))
    print(markdown)
    if not args.no_write:
        write_section("nlu", markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
