"""What the TF-IDF second opinion costs each parse: the project's model against the same project
without that component, served side by side.

Both models are trained from the same data (the one without the component from a temporary copy
of the project whose config.yml leaves it out; cached like any model), both servers run at once
on 127.0.0.1, and rounds alternate between them so that the machine's load falls on both alike:
in each round, one server then the other (the order flips every round) parses the same
messages one at a time. Reported: per model the median over rounds of each round's p50 and p99,
and the ratio of the medians (the baseline is the model without the component).
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from pathlib import Path

import httpx

from bench.report import percentile, write_section
from frontdoor.settings import load_settings
from nlu.environment import rasa_executable
from nlu.evaluation import LANGUAGES, evaluation_set
from nlu.model_text import model_text
from nlu.project import RasaProject, read_examples
from nlu.server import RasaServer
from nlu.training import train_model

COMPONENT = "tfidf_second_opinion.TfidfSecondOpinion"


@contextmanager
def project_without_component(project: RasaProject) -> Iterator[RasaProject]:
    """A copy of ``project`` whose pipeline leaves the second opinion out."""
    with tempfile.TemporaryDirectory(prefix="frontdoor-nlu-") as tmp:
        copy = Path(tmp) / "project"
        shutil.copytree(project.root, copy, ignore=shutil.ignore_patterns("__pycache__", "tests"))
        lines = (copy / "config.yml").read_text().splitlines(keepends=True)
        kept = [line for line in lines if COMPONENT not in line]
        if len(kept) != len(lines) - 1:
            raise SystemExit(f"config.yml does not name {COMPONENT} exactly once")
        (copy / "config.yml").write_text("".join(kept))
        yield RasaProject(copy)


def _round(client: httpx.Client, url: str, texts: list[str]) -> list[float]:
    latencies = []
    for text in texts:
        started = time.perf_counter()
        client.post(f"{url}/model/parse", json={"text": text}).raise_for_status()
        latencies.append((time.perf_counter() - started) * 1000)
    return latencies


def measure(urls: dict[str, str], texts: list[str], rounds: int) -> dict[str, list[list[float]]]:
    """Each round's latencies (ms) per model, the order of the models flipping every round."""
    results: dict[str, list[list[float]]] = {name: [] for name in urls}
    names = list(urls)
    with httpx.Client(timeout=30) as client:
        for name in names:
            _round(client, urls[name], texts[:20])  # warm-up: first parses load lazily
        for number in range(rounds):
            for name in names if number % 2 == 0 else reversed(names):
                results[name].append(_round(client, urls[name], texts))
    return results


def _machine(load_at_start: tuple[float, ...]) -> str:
    load = " ".join(f"{value:.2f}" for value in load_at_start)
    now = " ".join(f"{value:.2f}" for value in os.getloadavg())
    return (f"Run: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} CPUs, Python "
            f"{platform.python_version()} (app) against Rasa 3.6.21 on 127.0.0.1; load average "
            f"at start {load}, at end {now}.  ")


def _markdown(command: str, machine: str, texts: int, rounds: int,
              results: dict[str, list[list[float]]]) -> str:
    rows = []
    medians = {}
    for name, per_round in results.items():
        p50s = [statistics.median(latencies) for latencies in per_round]
        p99s = [percentile(latencies, 99) for latencies in per_round]
        medians[name] = statistics.median(p50s)
        rows.append(f"| {name} | {medians[name]:.2f} | {statistics.median(p99s):.2f} | "
                    + ", ".join(f"{p:.1f}" for p in p50s) + " |")
    with_it, without = medians["with the second opinion"], medians["without (baseline)"]
    return "\n".join([
        "## NLU: what the TF-IDF second opinion costs a parse",
        "",
        f"Command: `{command}`  ",
        machine,
        f"Load: {texts} messages (the development sets, English and Chinese, as the app's client "
        f"sends them), parsed one at a time by each of two Rasa servers running side by side; "
        f"{rounds} rounds, alternating which server goes first. The baseline is the same project's "
        "model without the component (nlu/rasa/components/tfidf_second_opinion.py), trained and "
        "served in the same run. Figures: the median over rounds of each round's p50 and p99.",
        "",
        "| model | p50 ms | p99 ms | each round's p50 |",
        "|---|---:|---:|---|",
        *rows,
        "",
        f"With the second opinion a parse takes {with_it - without:+.2f} ms at p50 "
        f"({with_it / without:.2f}x the baseline).",
    ])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_nlu_component",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5, help="alternating rounds (max 20)")
    parser.add_argument("--messages", type=int, default=150, help="messages per round (max 600)")
    parser.add_argument("--no-write", action="store_true", help="print only, leave docs/benchmarks.md")
    args = parser.parse_args(argv if argv is not None else sys.argv[1:])
    rounds, count = max(1, min(args.rounds, 20)), max(10, min(args.messages, 600))
    cache = load_settings().frontdoor_cache_dir
    project = RasaProject()
    every = [model_text(text) for language in LANGUAGES
             for text, _ in read_examples(evaluation_set(project, "dev", language))]
    # English and Chinese interleaved, so a shorter round still holds both.
    texts = [text for pair in zip(every[: len(every) // 2], every[len(every) // 2:], strict=False)
             for text in pair][:count]
    load_at_start = os.getloadavg()
    with project_without_component(project) as baseline_project:
        models = {"with the second opinion": train_model(cache, project)[0],
                  "without (baseline)": train_model(cache, baseline_project)[0]}
        with ExitStack() as stack:
            urls = {name: stack.enter_context(RasaServer(model, rasa_executable(cache)))
                    for name, model in models.items()}
            results = measure(urls, texts, rounds)
    command = f"python -m bench.bench_nlu_component --rounds {rounds} --messages {count}"
    markdown = _markdown(command, _machine(load_at_start), len(texts), rounds, results)
    print(markdown)
    if not args.no_write:
        write_section("nlu-component", markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
