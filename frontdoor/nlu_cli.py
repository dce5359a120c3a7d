"""`frontdoor nlu ...`: train, serve, query and evaluate the Rasa NLU model.

Mounted by frontdoor/cli.py as ``app.add_typer(nlu_app, name="nlu")``. The Rasa environment and
the models live in ``FRONTDOOR_CACHE_DIR`` (XDG cache by default); see nlu/environment.py and
nlu/training.py. Exit codes: 0 done, 1 failure (training, server), 2 bad input or unmet targets
(with ``--check-targets``).
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import typer

from frontdoor.settings import Settings, load_settings
from frontdoor.shutdown import StopRequest, run_until_stopped

nlu_app = typer.Typer(help="Train, serve, query and evaluate the NLU model.", no_args_is_help=True)

PROJECT_OPTION = typer.Option(
    None, "--project", help="Rasa project directory (default: the bundled nlu/rasa).")
DEFAULT_REPORT_DIR = Path(__file__).resolve().parent.parent / "nlu" / "reports"
MODEL_OPTION = typer.Option(None, "--model", help="Model file (default: the current project's).")
HELDOUT_OPTION = typer.Option(None, "--heldout",
                              help="One evaluation file instead of the split's per-language sets.")
SPLIT_OPTION = typer.Option("final", "--set",
                            help="final: the test sets (nlu/rasa/tests/final_*.yml); dev: the "
                                 "development sets used while tuning (dev_*.yml).")
REPORT_DIR_OPTION = typer.Option(DEFAULT_REPORT_DIR, "--report-dir",
                                 help="Where evaluation.json and the confusion PNGs go.")


def _project(path: Path | None) -> Any:
    from nlu.project import RasaProject

    if path is None:
        return RasaProject()
    if not (path / "config.yml").is_file() or not (path / "domain.yml").is_file():
        typer.echo(f"error: {path} is not a Rasa project (config.yml and domain.yml needed)", err=True)
        raise typer.Exit(2)
    return RasaProject(path.resolve())


def _fail(message: str, code: int = 1) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


@nlu_app.command("train")
def train(
    project: Path | None = PROJECT_OPTION,
    force: bool = typer.Option(False, "--force", help="Retrain even if the model is cached."),
) -> None:
    """Create the Rasa environment if missing and train the model unless it is cached.

    The model is named after a hash of the Rasa version, config, domain and data, so an
    unchanged project never retrains. Prints the model's path on stdout.
    """
    from nlu.environment import RasaEnvironmentError
    from nlu.training import TrainingError, train_model

    settings = load_settings()
    try:
        path, trained = train_model(settings.frontdoor_cache_dir, _project(project), out=sys.stderr,
                                    force=force)
    except (RasaEnvironmentError, TrainingError) as exc:
        raise _fail(str(exc)) from None
    if not trained:
        typer.echo(f"model is up to date: {path.name}", err=True)
    typer.echo(str(path))


@nlu_app.command("serve")
def serve(
    port: int | None = typer.Option(None, help="Port (default FRONTDOOR_NLU_PORT)."),
    host: str = typer.Option("127.0.0.1", help="Listen address; a shared server on its own host "
                                               "needs a private interface (or 0.0.0.0 in a container)."),
    model: Path | None = MODEL_OPTION,
    project: Path | None = PROJECT_OPTION,
) -> None:
    """Run `rasa run --enable-api` (127.0.0.1 unless --host) with the current model until
    interrupted."""
    from nlu.environment import RasaEnvironmentError, rasa_executable
    from nlu.server import RasaServer, RasaServerError
    from nlu.training import TrainingError, ensure_model

    settings = load_settings()
    try:
        model_file = model or ensure_model(settings.frontdoor_cache_dir, _project(project))
    except (RasaEnvironmentError, TrainingError) as exc:
        raise _fail(str(exc)) from None
    server = RasaServer(model_file, rasa_executable(settings.frontdoor_cache_dir),
                        port=port or settings.frontdoor_nlu_port, host=host, echo=True)

    async def run(_stop: StopRequest) -> int:
        # SIGTERM and SIGINT cancel this (frontdoor.shutdown), so the stop is in the finally
        # (code after an `async with` would be skipped by the CancelledError).
        url = await server.astart()  # a cancelled start stops Rasa itself
        typer.echo(f"Rasa NLU is serving {model_file.name} at {url} (Ctrl-C stops it)", err=True)
        try:
            return await server.await_exit()
        finally:
            typer.echo("stopping Rasa ...", err=True)
            await server.astop()
            typer.echo("Rasa has stopped", err=True)

    try:
        code = run_until_stopped(run)
    except RasaServerError as exc:
        raise _fail(str(exc)) from None
    if code:
        raise _fail(f"rasa exited with code {code}")


def _parse_lines(url: str, lines: Iterable[str], settings: Settings) -> None:
    from nlu.client import RasaClassifier

    async def run() -> None:
        async with RasaClassifier(url, timeout=settings.frontdoor_nlu_timeout,
                                  case_prefix=settings.frontdoor_case_prefix) as client:
            for line in lines:
                text = line.rstrip("\n")
                if not text.strip():
                    continue
                result = await client.classify(text)
                record = {
                    "text": text,
                    "intent": result.intent,
                    "confidence": round(result.confidence, 4),
                    "entities": [{"entity": e.entity, "value": e.value} for e in result.entities],
                }
                if not result.available:
                    record["error"] = "nlu unavailable"
                sys.stdout.write(json.dumps(record, ensure_ascii=False) + "\n")
                sys.stdout.flush()

    asyncio.run(run())


@nlu_app.command("parse")
def parse(
    url: str | None = typer.Option(None, help="Rasa server URL (default FRONTDOOR_NLU_URL; unset: "
                                              "start a local server for this command)."),
    project: Path | None = PROJECT_OPTION,
) -> None:
    """Read one message per line on stdin, write one JSON object per line on stdout.

    Each object is {"text", "intent", "confidence", "entities": [{"entity", "value"}]}, with
    entity values normalised; blank lines are skipped.
    """
    from nlu.server import nlu_service

    settings = load_settings()
    try:
        with nlu_service(url or settings.frontdoor_nlu_url, settings.frontdoor_cache_dir,
                         port=0, project=_project(project)) as base_url:
            _parse_lines(base_url, sys.stdin, settings)
    except RuntimeError as exc:  # environment, training or server start-up failures
        raise _fail(str(exc)) from None


@nlu_app.command("evaluate")
def evaluate(
    url: str | None = typer.Option(None, help="Rasa server URL (default FRONTDOOR_NLU_URL; unset: "
                                              "start a local server)."),
    split: str = SPLIT_OPTION,
    heldout: Path | None = HELDOUT_OPTION,
    report_dir: Path = REPORT_DIR_OPTION,
    check_targets: bool = typer.Option(
        False, "--check-targets",
        help="Exit 2 unless, per language, macro-F1 meets its target (zh 0.90, en its score "
             "before Chinese), out_of_scope recall >= 0.85 and the model beats the baseline."),
    project: Path | None = PROJECT_OPTION,
) -> None:
    """Score the model as the app uses it (client and the engine's thresholds: case types at
    FRONTDOOR_NLU_THRESHOLD, conversational intents at the higher action threshold of the
    text's language) and a TF-IDF + logistic-regression baseline, per language, on the final
    (or development) sets."""
    from bot.dialogue.config import EngineConfig
    from nlu.evaluation import SPLITS
    from nlu.evaluation import evaluate as run_evaluation
    from nlu.evaluation_report import format_report, write_report
    from nlu.server import nlu_service

    if split not in SPLITS:
        raise _fail(f"--set must be one of {', '.join(SPLITS)}", code=2)
    settings = load_settings()
    # The NLU part of the engine's configuration, built from the settings as frontdoor/wiring.py
    # builds the app's (the action thresholds have no setting: the engine's defaults).
    config = EngineConfig(nlu_threshold=settings.frontdoor_nlu_threshold)
    rasa_project = _project(project)
    try:
        with nlu_service(url or settings.frontdoor_nlu_url, settings.frontdoor_cache_dir,
                         port=0, project=rasa_project) as base_url:
            report = run_evaluation(base_url, rasa_project, split, config, heldout)
    except RuntimeError as exc:
        raise _fail(str(exc)) from None
    typer.echo(format_report(report))
    for path in write_report(report, report_dir):
        typer.echo(f"wrote {path}", err=True)
    failed = report.failed_targets()
    if check_targets and failed:
        raise _fail("targets not met: " + "; ".join(failed), code=2)
