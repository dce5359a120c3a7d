"""The Rasa server helper and training cache, with a stand-in ``rasa`` executable (a small Python
script speaking the same command line and HTTP endpoints), so no real Rasa is needed here."""

from __future__ import annotations

import io
import json
import stat
import sys
import textwrap
import time
from pathlib import Path

import httpx
import pytest

from nlu.environment import MARKER, env_dir, is_complete
from nlu.project import RASA_EXTRA_PACKAGES, RasaProject, model_path
from nlu.server import RasaServer, RasaServerError, free_port, nlu_service
from nlu.training import TrainingError, train_model, training_info_path

FAKE_RASA = textwrap.dedent('''\
    #!{python}
    """Stand-in for `rasa run --enable-api` and `rasa train nlu` (behaviour from FAKE_MODE)."""
    import json, os, sys, time
    from http.server import BaseHTTPRequestHandler, HTTPServer

    args = sys.argv[1:]
    mode = os.environ.get("FAKE_MODE", "ok")
    def opt(name):
        return args[args.index(name) + 1]

    if args[:2] == ["train", "nlu"]:
        print("Epochs:  50%", end="\\r", flush=True)
        print("Epochs: 100%", flush=True)
        if mode == "train_fail":
            print("boom: bad data", flush=True)
            sys.exit(3)
        with open(os.path.join(opt("--out"), opt("--fixed-model-name") + ".tar.gz"), "w") as f:
            f.write("model")
        sys.exit(0)

    if mode == "crash":
        print("cannot load model", flush=True)
        sys.exit(7)
    model = opt("-m")
    loading_until = time.monotonic() + 0.6  # like Rasa: /status answers before the model is in

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *a):
            pass
        def reply(self, body):
            data = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        def do_GET(self):
            loaded = time.monotonic() > loading_until and mode != "never_ready"
            self.reply({{"model_file": model if loaded else None}})
        def do_POST(self):
            n = int(self.headers["Content-Length"])
            text = json.loads(self.rfile.read(n))["text"]
            self.reply({{"text": text, "intent": {{"name": "greet", "confidence": 0.9}},
                        "intent_ranking": [{{"name": "greet", "confidence": 0.9}}]}})

    print("Rasa server is up and running.", flush=True)
    HTTPServer((opt("-i"), int(opt("-p"))), Handler).serve_forever()
''')


@pytest.fixture
def cache(tmp_path: Path) -> Path:
    """A cache dir whose Rasa environment is 'complete' and whose rasa is the stand-in."""
    cache_dir = tmp_path / "cache"
    bin_dir = env_dir(cache_dir) / "bin"
    bin_dir.mkdir(parents=True)
    rasa = bin_dir / "rasa"
    rasa.write_text(FAKE_RASA.format(python=sys.executable))
    rasa.chmod(rasa.stat().st_mode | stat.S_IEXEC)
    (env_dir(cache_dir) / MARKER).write_text(json.dumps({"rasa": "3.6.21",
                                                          "packages": list(RASA_EXTRA_PACKAGES)}))
    return cache_dir


@pytest.fixture
def project(tmp_path: Path) -> RasaProject:
    root = tmp_path / "project"
    (root / "data").mkdir(parents=True)
    (root / "config.yml").write_text("pipeline: []\n")
    (root / "domain.yml").write_text("intents: [greet]\n")
    (root / "data" / "nlu.yml").write_text("nlu:\n- intent: greet\n  examples: |\n    - hi\n")
    return RasaProject(root)


def _rasa(cache_dir: Path) -> Path:
    return env_dir(cache_dir) / "bin" / "rasa"


def test_environment_is_complete_only_with_marker(cache: Path) -> None:
    assert is_complete(cache)
    (env_dir(cache) / MARKER).unlink()
    assert not is_complete(cache)


def test_train_once_then_cached(cache: Path, project: RasaProject) -> None:
    out = io.StringIO()
    path, trained = train_model(cache, project, out=out)
    assert trained and path == model_path(cache, project) and path.read_text() == "model"
    assert "Epochs: 100%" in out.getvalue()  # rasa's progress is streamed through
    assert json.loads(training_info_path(path).read_text())["seconds"] >= 0
    assert train_model(cache, project, out=out) == (path, False)
    assert not list(path.parent.glob(".train-*"))  # the temporary directory is gone


def test_changed_data_means_new_model(cache: Path, project: RasaProject) -> None:
    first, _ = train_model(cache, project, out=io.StringIO())
    (project.data / "nlu.yml").write_text("nlu:\n- intent: greet\n  examples: |\n    - hello\n")
    second, trained = train_model(cache, project, out=io.StringIO())
    assert trained and second != first and first.exists()


def test_training_failure_keeps_no_model(cache: Path, project: RasaProject,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_MODE", "train_fail")
    with pytest.raises(TrainingError, match="bad data"):
        train_model(cache, project, out=io.StringIO())
    assert not model_path(cache, project).exists()


def test_fingerprint_ignores_nothing_that_matters(project: RasaProject) -> None:
    before = project.fingerprint()
    assert project.fingerprint() == before
    (project.data / "extra.yml").write_text("nlu: []\n")
    assert project.fingerprint() != before


def test_a_custom_component_is_part_of_the_model(project: RasaProject) -> None:
    # A changed component must retrain the model; the bytecode Rasa leaves beside it must not.
    project.components.mkdir(exist_ok=True)
    (project.components / "vote.py").write_text("WEIGHT = 0.5\n")
    before = project.fingerprint()
    (project.components / "__pycache__").mkdir()
    (project.components / "__pycache__" / "vote.cpython-310.pyc").write_bytes(b"\0")
    assert project.fingerprint() == before
    (project.components / "vote.py").write_text("WEIGHT = 0.6\n")
    assert project.fingerprint() != before


def _model(tmp_path: Path) -> Path:
    model = tmp_path / "m.tar.gz"
    model.write_text("model")
    return model


def test_server_starts_on_a_free_port_and_stops(cache: Path, tmp_path: Path) -> None:
    server = RasaServer(_model(tmp_path), _rasa(cache), port=0, startup_timeout=30)
    with server as url:
        assert url.startswith("http://127.0.0.1:") and server.port != 0
        parsed = httpx.post(f"{url}/model/parse", json={"text": "hi"}).json()
        assert parsed["intent"]["name"] == "greet"
        assert server.running
    assert not server.running
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{url}/status", timeout=2)


async def test_server_async_context(cache: Path, tmp_path: Path) -> None:
    server = RasaServer(_model(tmp_path), _rasa(cache), port=free_port())
    async with server as url, httpx.AsyncClient() as client:
        assert (await client.get(f"{url}/status")).json()["model_file"]
    assert not server.running


def test_server_that_crashes_reports_its_log(cache: Path, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_MODE", "crash")
    started = time.monotonic()
    with pytest.raises(RasaServerError, match="cannot load model"):
        RasaServer(_model(tmp_path), _rasa(cache), startup_timeout=30).start()
    assert time.monotonic() - started < 10  # it noticed the exit, it did not wait 30 s


def test_server_never_ready_times_out_and_is_stopped(cache: Path, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_MODE", "never_ready")
    server = RasaServer(_model(tmp_path), _rasa(cache), startup_timeout=2)
    with pytest.raises(RasaServerError, match="not ready"):
        server.start()
    assert not server.running


def test_missing_model(cache: Path, tmp_path: Path) -> None:
    with pytest.raises(RasaServerError, match="no model"):
        RasaServer(tmp_path / "absent.tar.gz", _rasa(cache)).start()


def test_nlu_service_uses_a_given_url_as_is(tmp_path: Path) -> None:
    with nlu_service("http://127.0.0.1:9/", tmp_path) as url:
        assert url == "http://127.0.0.1:9"
    assert not (tmp_path / "models").exists()  # nothing trained, nothing started


def test_nlu_service_trains_and_starts(cache: Path, project: RasaProject) -> None:
    with nlu_service(None, cache, port=0, project=project, out=io.StringIO()) as url:
        assert httpx.get(f"{url}/status").status_code == 200
    assert model_path(cache, project).is_file()


def test_subprocess_env_has_no_telemetry() -> None:
    from nlu.environment import subprocess_env

    env = subprocess_env()
    assert env["RASA_TELEMETRY_ENABLED"] == "false"
    assert "VIRTUAL_ENV" not in env  # the app's venv must not leak into Rasa's


def test_rasa_imports_the_projects_components(tmp_path: Path) -> None:
    from nlu.environment import subprocess_env

    assert subprocess_env()["PYTHONPATH"] == str(RasaProject().components)
    assert (RasaProject().components / "tfidf_second_opinion.py").is_file()
    own = RasaProject(tmp_path)
    assert subprocess_env(own)["PYTHONPATH"] == str(tmp_path / "components")
