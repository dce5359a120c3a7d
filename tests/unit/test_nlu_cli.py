"""`frontdoor nlu` commands against stand-ins: a tiny Rasa-like HTTP server on 127.0.0.1 and the
stand-in `rasa` executable of test_nlu_server (no real Rasa here; tests/integration has that)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from bot.dialogue.config import EngineConfig
from frontdoor.nlu_cli import nlu_app
from nlu.project import RasaProject
from tests.unit.test_nlu_server import cache, project  # noqa: F401 - fixtures

runner = CliRunner()


class _Handler(BaseHTTPRequestHandler):
    """Says "payment" for messages about money, "greet" for everything else, at ``confidence``."""

    confidence = 0.8

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib name
        pass

    def _reply(self, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        self._reply({"model_file": "m.tar.gz"})

    def do_POST(self) -> None:
        text = json.loads(self.rfile.read(int(self.headers["Content-Length"])))["text"]
        name = "payment" if "payout" in text or "money" in text else "greet"
        self._reply({"intent": {"name": name, "confidence": self.confidence},
                     "intent_ranking": [{"name": name, "confidence": self.confidence}]})


class _UnsureHandler(_Handler):
    """Between the engine's two thresholds: enough to propose a case type, not to act."""

    confidence = 0.5


def _serve(handler: type[_Handler]) -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def nlu_url() -> Iterator[str]:
    yield from _serve(_Handler)


@pytest.fixture
def unsure_nlu_url() -> Iterator[str]:
    yield from _serve(_UnsureHandler)


def test_parse_writes_one_json_object_per_line(nlu_url: str) -> None:
    result = runner.invoke(nlu_app, ["parse"], input="where is my payout cx 77\n\nhello 240518k7qw93xz\n",
                           env={"FRONTDOOR_NLU_URL": nlu_url})
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert records == [
        {"text": "where is my payout cx 77", "intent": "payment", "confidence": 0.8,
         "entities": [{"entity": "case_number", "value": "CX-000077"}]},
        {"text": "hello 240518k7qw93xz", "intent": "greet", "confidence": 0.8,
         "entities": [{"entity": "order_id", "value": "240518K7QW93XZ"}]},
    ]


def test_parse_when_nlu_is_down_still_answers(tmp_path: Path) -> None:
    result = runner.invoke(nlu_app, ["parse", "--url", "http://127.0.0.1:9"], input="hi cx-1\n",
                           env={"FRONTDOOR_NLU_TIMEOUT": "0.5"})
    assert result.exit_code == 0
    record = json.loads(result.stdout)
    assert record["intent"] is None and record["error"] == "nlu unavailable"
    assert record["entities"] == [{"entity": "case_number", "value": "CX-000001"}]


def test_evaluate_reports_and_checks_targets(nlu_url: str, tmp_path: Path) -> None:
    args = ["evaluate", "--url", nlu_url, "--report-dir", str(tmp_path), "--check-targets"]
    result = runner.invoke(nlu_app, args)
    assert result.exit_code == 2, result.output  # a server that says "greet" to all fails them
    assert "targets not met" in result.output
    assert "== English (en)" in result.stdout and "== Chinese (zh)" in result.stdout
    assert "macro-F1" in result.stdout and "TF-IDF+LR" in result.stdout
    report = json.loads((tmp_path / "evaluation.json").read_text())
    assert report["split"] == "final" and report["threshold"] == EngineConfig().nlu_threshold
    for language in ("en", "zh"):
        scores = report["languages"][language]
        assert scores["heldout_file"].endswith(f"final_{language}.yml")
        assert scores["targets"]["macro_f1"]["met"] is False
        assert scores["baseline"]["macro_f1"] > 0.5
        assert (tmp_path / f"confusion_app_{language}.png").read_bytes()[:4] == b"\x89PNG"
        assert (tmp_path / f"confusion_baseline_{language}.png").read_bytes()[:4] == b"\x89PNG"


def test_evaluate_uses_the_engine_threshold(nlu_url: str, tmp_path: Path) -> None:
    """The stand-in answers with confidence 0.8: at a threshold of 0.9 the app acts on nothing,
    so every message counts as out_of_scope (recall 1.0) and the dev sets are read."""
    args = ["evaluate", "--url", nlu_url, "--report-dir", str(tmp_path), "--set", "dev"]
    result = runner.invoke(nlu_app, args, env={"FRONTDOOR_NLU_THRESHOLD": "0.9"})
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "evaluation.json").read_text())
    assert report["split"] == "dev" and report["threshold"] == 0.9
    english = report["languages"]["en"]
    assert english["app"]["per_intent"]["out_of_scope"]["recall"] == 1.0
    assert english["top"]["per_intent"]["out_of_scope"]["recall"] == 0.0
    assert english["heldout_file"].endswith("dev_en.yml")


def test_evaluate_uses_the_engines_action_threshold_for_intents(unsure_nlu_url: str,
                                                                tmp_path: Path) -> None:
    """At 0.5 the engine proposes a case type (threshold 0.40) but does not act on a
    conversational intent (0.55): "payment" counts, "greet" is out_of_scope."""
    args = ["evaluate", "--url", unsure_nlu_url, "--report-dir", str(tmp_path), "--set", "dev"]
    result = runner.invoke(nlu_app, args, env={"FRONTDOOR_NLU_THRESHOLD": "0.4"})
    assert result.exit_code == 0, result.output
    assert "0.4 for a case type, 0.55 for a conversational intent" in result.stdout
    report = json.loads((tmp_path / "evaluation.json").read_text())
    assert report["threshold"] == 0.4
    assert report["action_threshold"] == EngineConfig().nlu_action_threshold == 0.55
    app, top = (report["languages"]["en"][rule]["per_intent"] for rule in ("app", "top"))
    assert app["payment"]["recall"] > 0.0
    assert app["payment"]["recall"] == top["payment"]["recall"]
    assert top["greet"]["recall"] == 1.0
    assert app["greet"]["recall"] == 0.0


def test_evaluate_rejects_an_unknown_set(nlu_url: str) -> None:
    result = runner.invoke(nlu_app, ["evaluate", "--url", nlu_url, "--set", "train"])
    assert result.exit_code == 2
    assert "--set must be one of final, dev" in result.output


def test_train_then_up_to_date(cache: Path, project: RasaProject) -> None:  # noqa: F811
    env = {"FRONTDOOR_CACHE_DIR": str(cache)}
    first = runner.invoke(nlu_app, ["train", "--project", str(project.root)], env=env)
    assert first.exit_code == 0, first.output
    model = Path(first.stdout.strip().splitlines()[-1])
    assert model.is_file() and model.parent == cache / "models"
    second = runner.invoke(nlu_app, ["train", "--project", str(project.root)], env=env)
    assert second.exit_code == 0
    assert "up to date" in second.output
    assert second.stdout.strip().splitlines()[-1] == str(model)


def test_train_rejects_a_non_project(tmp_path: Path) -> None:
    result = runner.invoke(nlu_app, ["train", "--project", str(tmp_path)])
    assert result.exit_code == 2
