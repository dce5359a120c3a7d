"""Child processes never outlive Frontdoor: nlu.processes (own session, group stop, death with
the parent) and frontdoor.shutdown (SIGTERM/SIGINT run the cleanup, then end the process by the
signal), with small Python children instead of Rasa; the busy-port refusal with the stand-in
``rasa`` of test_nlu_server; `chat` and `nlu serve` stopped by a signal while their (stand-in)
Rasa takes its time to stop, as a loaded machine makes the real one do. The real commands with
the real Rasa are in tests/integration/test_process_shutdown.py."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from nlu import processes
from nlu.environment import MARKER, env_dir, rasa_executable
from nlu.project import RASA_EXTRA_PACKAGES, RASA_VERSION
from nlu.server import (
    RasaServer,
    RasaServerError,
    free_port,
    port_in_use,
    wait_until_ready,
)
from tests import process_tree
from tests.unit.test_nlu_server import _model, _rasa, cache  # noqa: F401 (cache: a fixture)

SLEEPER = [sys.executable, "-c", "import time; time.sleep(60)"]


@pytest.fixture
def cleanup() -> Iterator[set[int]]:
    """Pids a test started; any still alive at the end are killed."""
    pids: set[int] = set()
    yield pids
    process_tree.kill(pids)


def _wait_for_exec(pid: int, needle: str, timeout: float = 10.0) -> None:
    """Until ``pid`` runs the command (the launcher has exec'd it)."""
    deadline = time.monotonic() + timeout
    while needle not in process_tree.command_line(pid):
        assert time.monotonic() < deadline, f"{pid} never ran {needle!r}"
        time.sleep(0.05)


def test_child_leads_its_own_session_and_stop_reaches_what_it_forked(cleanup: set[int]) -> None:
    # A child that forks a grandchild deaf to SIGTERM, then waits.
    script = textwrap.dedent("""\
        import os, signal, sys, time
        pid = os.fork()
        if pid == 0:
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            time.sleep(60)
            os._exit(0)
        print(pid, flush=True)
        time.sleep(60)
    """)
    proc = processes.spawn([sys.executable, "-c", script], stdout=subprocess.PIPE)
    assert proc.stdout is not None
    grandchild = int(proc.stdout.readline())
    cleanup.update({proc.pid, grandchild})
    assert os.getsid(proc.pid) == proc.pid
    assert os.getpgid(grandchild) == proc.pid
    assert proc in processes.running_children()

    started = time.monotonic()
    assert processes.stop(proc, grace=10) == -signal.SIGTERM
    assert time.monotonic() - started < 5  # the child exited at once: no waiting for the grace
    assert process_tree.survivors({grandchild}, timeout=5) == set()
    assert proc not in processes.running_children()


def test_a_child_deaf_to_sigterm_is_killed_after_the_grace(cleanup: set[int]) -> None:
    script = ("import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
              "print(1, flush=True); time.sleep(60)")
    proc = processes.spawn([sys.executable, "-c", script], stdout=subprocess.PIPE)
    cleanup.add(proc.pid)
    assert proc.stdout is not None and proc.stdout.readline()  # its handler is in place
    started = time.monotonic()
    assert processes.stop(proc, grace=0.5) == -signal.SIGKILL
    assert 0.4 < time.monotonic() - started < 5


def test_child_dies_with_a_sigkilled_parent(cleanup: set[int]) -> None:
    parent_script = textwrap.dedent(f"""\
        import sys, time
        from nlu import processes
        child = processes.spawn({SLEEPER!r})
        print(child.pid, flush=True)
        time.sleep(60)
    """)
    parent = subprocess.Popen([sys.executable, "-c", parent_script], stdout=subprocess.PIPE,
                              cwd=Path(__file__).resolve().parents[2], start_new_session=True)
    cleanup.add(parent.pid)
    assert parent.stdout is not None
    child = int(parent.stdout.readline())
    cleanup.add(child)
    _wait_for_exec(child, "time.sleep(60)")
    assert os.getsid(child) != os.getsid(parent.pid)  # not in the parent's group or session

    parent.kill()  # no cleanup can run in the parent
    parent.wait(10)
    assert process_tree.survivors({child}, timeout=5) == set()


def test_spawning_a_missing_command_fails_like_popen(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        processes.spawn([str(tmp_path / "no-such-rasa"), "run"])


STOPPABLE_MAIN = textwrap.dedent(f"""\
    import asyncio, sys
    from frontdoor.shutdown import run_until_stopped
    from nlu import processes

    async def main(stop):
        child = processes.spawn({SLEEPER!r})
        print(child.pid, flush=True)
        try:
            # Like `frontdoor chat`: a thread blocked reading stdin while the loop waits.
            await asyncio.to_thread(sys.stdin.readline)
        finally:
            print("cleanup started", flush=True)
            await asyncio.shield(asyncio.sleep(1.5))  # a cleanup that takes a while
            print("cleanup finished", flush=True)
        return 0

    run_until_stopped(main)
    print("returned normally", flush=True)
""")


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_runs_the_cleanup_then_ends_the_process_by_that_signal(
        signum: int, cleanup: set[int]) -> None:
    proc = subprocess.Popen([sys.executable, "-c", STOPPABLE_MAIN], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            cwd=Path(__file__).resolve().parents[2], start_new_session=True)
    cleanup.add(proc.pid)
    assert proc.stdout is not None
    child = int(proc.stdout.readline())
    cleanup.add(child)
    _wait_for_exec(child, "time.sleep(60)")

    proc.send_signal(signum)
    assert proc.stdout.readline() == "cleanup started\n"
    proc.send_signal(signum)  # impatient: a second signal must not cut the cleanup short
    stdout, stderr = proc.communicate(timeout=20)  # stdin stays open: the reader is blocked

    assert proc.returncode == -signum, stderr
    assert stdout == "cleanup finished\n"  # and never "returned normally"
    name = signal.Signals(signum).name
    assert f"{name} received: stopping" in stderr
    assert f"{name} received again: still stopping" in stderr
    assert process_tree.survivors({child}, timeout=5) == set()


def test_without_a_signal_main_returns_normally() -> None:
    result = subprocess.run([sys.executable, "-c", STOPPABLE_MAIN], input="bye\n", text=True,
                            capture_output=True, timeout=30,
                            cwd=Path(__file__).resolve().parents[2])
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[1:] == ["cleanup started", "cleanup finished",
                                              "returned normally"]


def test_a_busy_port_is_refused_and_the_server_there_named(cache: Path,  # noqa: F811
                                                            tmp_path: Path) -> None:
    port = free_port()
    stale = RasaServer(_model(tmp_path), _rasa(cache), port=port, startup_timeout=30)
    with stale:
        assert port_in_use("127.0.0.1", port)
        second = RasaServer(_model(tmp_path), _rasa(cache), port=port, startup_timeout=30)
        with pytest.raises(RasaServerError) as refused:
            second.start()
        assert not second.running
    message = str(refused.value)
    assert f"port {port} on 127.0.0.1 is already in use" in message
    assert "a Rasa server with model" in message and "m.tar.gz" in message
    assert "FRONTDOOR_NLU_PORT" in message
    assert not port_in_use("127.0.0.1", port)  # and the stale one is gone once stopped


def test_readiness_refuses_a_server_with_another_model(cache: Path,  # noqa: F811
                                                       tmp_path: Path) -> None:
    with RasaServer(_model(tmp_path), _rasa(cache), startup_timeout=30) as url:
        wait_until_ready(url, timeout=10, model_name="m.tar.gz")
        with pytest.raises(RasaServerError, match="serves model .*m.tar.gz, not other.tar.gz"):
            wait_until_ready(url, timeout=10, model_name="other.tar.gz")


FRONTDOOR = str(Path(sys.executable).with_name("frontdoor"))
SLOW_STOP_SECONDS = 2.0  # well inside the 15 s grace: the stand-in must exit by itself
SLOW_STOPPING_RASA = textwrap.dedent('''\
    #!{python}
    """Stand-in `rasa` that trains at once, serves /status and /model/parse, and on SIGTERM
    takes SLOW_STOP_SECONDS to exit, noting each step in $STANDIN_EVENTS."""
    import json, os, signal, sys, time
    from http.server import BaseHTTPRequestHandler, HTTPServer

    args = sys.argv[1:]
    def opt(name):
        return args[args.index(name) + 1]
    def note(event):
        with open(os.environ["STANDIN_EVENTS"], "a") as events:
            events.write(event + "\\n")

    if args[:2] == ["train", "nlu"]:
        with open(os.path.join(opt("--out"), opt("--fixed-model-name") + ".tar.gz"), "w") as f:
            f.write("model")
        sys.exit(0)

    def slow_stop(signum, frame):
        note("stopping")
        time.sleep({stop_seconds})
        note("stopped")
        os._exit(0)

    signal.signal(signal.SIGTERM, slow_stop)
    model = opt("-m")

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
            self.reply({{"model_file": model}})
        def do_POST(self):
            self.reply({{"intent": {{"name": "greet", "confidence": 0.9}}, "entities": []}})

    server = HTTPServer((opt("-i"), int(opt("-p"))), Handler)
    note(f"listening {{opt('-p')}}")
    server.serve_forever()
''')


class SlowRasa:
    """A Rasa cache whose `rasa` is the slow-stopping stand-in, and what the stand-in noted."""

    def __init__(self, tmp_path: Path) -> None:
        self.cache = tmp_path / "cache"
        self.events = tmp_path / "rasa-events.txt"
        self.events.touch()
        env_dir(self.cache).mkdir(parents=True)
        (env_dir(self.cache) / MARKER).write_text(json.dumps(
            {"rasa": RASA_VERSION, "packages": list(RASA_EXTRA_PACKAGES)}))
        self.rasa = rasa_executable(self.cache)
        self.rasa.parent.mkdir()
        self.rasa.write_text(SLOW_STOPPING_RASA.format(python=sys.executable,
                                                       stop_seconds=SLOW_STOP_SECONDS))
        self.rasa.chmod(0o755)

    def noted(self) -> list[str]:
        return self.events.read_text().splitlines()

    def port(self) -> int:
        (listening,) = [line for line in self.noted() if line.startswith("listening ")]
        return int(listening.split()[1])


@pytest.fixture
def slow_rasa(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> SlowRasa:
    rasa = SlowRasa(tmp_path)
    monkeypatch.setenv("STANDIN_EVENTS", str(rasa.events))
    return rasa


async def test_a_cancelled_astop_still_waits_for_the_server_to_be_gone(
        slow_rasa: SlowRasa, tmp_path: Path, cleanup: set[int]) -> None:
    model = tmp_path / "m.tar.gz"
    model.write_text("model")
    server = RasaServer(model, slow_rasa.rasa, startup_timeout=30)
    await server.astart()
    assert server.pid is not None
    cleanup.add(server.pid)
    proc = server._proc

    stopping = asyncio.create_task(server.astop())
    await asyncio.sleep(0.5)
    started = time.monotonic()
    stopping.cancel()
    with pytest.raises(asyncio.CancelledError):
        await stopping
    # Only once the stop has finished does the cancellation come through.
    assert time.monotonic() - started > SLOW_STOP_SECONDS - 1.0
    assert proc is not None and proc.returncode == 0  # exited by itself, after its slow stop
    assert slow_rasa.noted()[-2:] == ["stopping", "stopped"]
    assert proc not in processes.running_children()


STOPPED_LINES = {"chat": "The local Rasa server has stopped", "nlu": "Rasa has stopped"}


@pytest.mark.parametrize(("args", "ready_line", "signum"), [
    (["chat"], "console chat", signal.SIGINT),
    (["nlu", "serve", "--port", "{port}", "--model", "{model}"], "Rasa NLU is serving",
     signal.SIGTERM),
], ids=["chat-SIGINT", "nlu-serve-SIGTERM"])
def test_a_slow_rasa_stop_is_finished_and_reported_before_the_command_ends(
        args: list[str], ready_line: str, signum: int, slow_rasa: SlowRasa, tmp_path: Path,
        cleanup: set[int]) -> None:
    """The command is cancelled by the signal; its Rasa is stopped in a ``finally`` (code after
    an ``async with`` block would be skipped), and an impatient second signal does not cut
    that short."""
    model = tmp_path / "m.tar.gz"
    model.write_text("model")
    args = [arg.format(port=free_port(), model=model) for arg in args]
    keep = ("PATH", "HOME", "LANG", "PYTHONPATH", "STANDIN_EVENTS")
    env = {name: value for name, value in os.environ.items() if name in keep}
    env.update(FRONTDOOR_CACHE_DIR=str(slow_rasa.cache),
               FRONTDOOR_DATABASE_URL=f"sqlite:///{tmp_path}/frontdoor.db")
    log_path = tmp_path / "command.log"
    with log_path.open("wb") as log:
        # stdin a pipe left open: the chat waits for a line when the signal comes.
        command = subprocess.Popen([FRONTDOOR, *args], cwd=tmp_path, env=env,
                                   stdin=subprocess.PIPE, stdout=log, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    cleanup.add(command.pid)

    def wait_for_log(needle: str) -> str:
        deadline = time.monotonic() + 60
        while needle not in (text := log_path.read_text(errors="replace")):
            assert command.poll() is None, f"exited ({command.returncode}):\n{text}"
            assert time.monotonic() < deadline, f"never logged {needle!r}:\n{text}"
            time.sleep(0.1)
        return text

    wait_for_log(ready_line)
    tree = process_tree.descendants(command.pid)
    cleanup.update(tree)
    rasa_port = slow_rasa.port()

    command.send_signal(signum)
    wait_for_log("stopping Rasa" if args[0] == "nlu" else "Stopping the local Rasa server")
    command.send_signal(signum)  # impatient
    try:
        command.wait(timeout=30)
    finally:
        assert command.stdin is not None
        command.stdin.close()
    log_text = log_path.read_text(errors="replace")

    assert command.returncode == -signum, log_text
    assert slow_rasa.noted()[-2:] == ["stopping", "stopped"]  # not SIGKILLed: it was waited for
    name = signal.Signals(signum).name
    _, repeated, after_repeat = log_text.partition(f"{name} received again: still stopping")
    assert repeated, log_text
    assert STOPPED_LINES[args[0]] in after_repeat, log_text
    assert process_tree.survivors(tree, timeout=5) == set()
    assert not port_in_use("127.0.0.1", rasa_port)
