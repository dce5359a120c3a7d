"""`frontdoor serve`, `chat` and `nlu serve` as real processes with the real Rasa: SIGTERM and
SIGINT stop them *and* everything they started, and a SIGKILLed command takes its Rasa server
with it. Each test snapshots the command's process tree from /proc before signalling, then
checks that no process of it is left and that the ports are free. Whatever a failing test
leaves behind is killed by pid at its end.

Rasa takes 10-20 s (much more on a busy machine) to load its model, so only three tests wait
for it (one per command); the others signal during start-up, which is also the case where a
half-started server used to be left behind.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import IO, Any

import httpx
import pytest

from frontdoor.settings import load_settings
from nlu.server import free_port, port_in_use
from nlu.training import ensure_model
from tests import process_tree
from tests.standins.telegram_api import TelegramStandIn

pytestmark = pytest.mark.rasa

FRONTDOOR = str(Path(sys.executable).with_name("frontdoor"))
RASA_READY_WITHIN = 240.0  # s: loading the model, on a machine running other tests too
STOPPED_WITHIN = 30.0  # s: a stop takes 1-3 s; Rasa alone may take its 15 s grace
TELEGRAM = {"TELEGRAM_BOT_TOKEN": "123456:PROCESS-SHUTDOWN-TEST",
            "TELEGRAM_WEBHOOK_SECRET": "process-shutdown-secret"}


@pytest.fixture(scope="module", autouse=True)
def trained_model() -> None:
    """The model exists before any command starts (training is not what is timed here)."""
    ensure_model(load_settings().frontdoor_cache_dir)


def command_env(tmp_path: Path, **settings: str) -> dict[str, str]:
    """This environment without Frontdoor or platform settings (the Rasa cache excepted),
    plus a fresh SQLite file and ``settings``."""
    keep = ("FRONTDOOR_CACHE_DIR", "FRONTDOOR_RASA_PYTHON")
    env = {k: v for k, v in os.environ.items()
           if k in keep or not k.startswith(("FRONTDOOR_", "TELEGRAM_", "SLACK_"))}
    env["FRONTDOOR_DATABASE_URL"] = f"sqlite:///{tmp_path}/frontdoor.db"
    env.update(settings)
    return env


class Command:
    """One `frontdoor ...` process in its own session, its output in a log file. Every process
    ever seen below it is remembered, to be checked (and, in the end, killed if alive)."""

    def __init__(self, args: list[str], env: dict[str, str], workdir: Path,
                 stdin: int | IO[Any] = subprocess.DEVNULL) -> None:
        self.log_path = workdir / f"{args[0]}.log"
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen([FRONTDOOR, *args], cwd=workdir, env=env, stdin=stdin,
                                            stdout=log, stderr=subprocess.STDOUT,
                                            start_new_session=True)
        self.seen: set[int] = set()

    @property
    def pid(self) -> int:
        return self.process.pid

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def tree(self) -> set[int]:
        """The processes below the command now (and remembered for the clean-up)."""
        now = process_tree.descendants(self.pid)
        self.seen |= now
        return now

    def rasa_servers(self) -> set[int]:
        return {pid for pid in self.tree() if "rasa run" in process_tree.command_line(pid)}

    async def wait_for(self, what: str, check: Callable[[], Awaitable[bool]],
                       timeout: float = RASA_READY_WITHIN) -> None:
        deadline = asyncio.get_running_loop().time() + timeout
        while not await check():
            self.tree()
            if self.process.poll() is not None:
                raise AssertionError(f"exited ({self.process.returncode}) before {what}:\n{self.log()}")
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"not {what} within {timeout:.0f} s:\n{self.log()}")
            await asyncio.sleep(0.2)

    async def wait_for_log(self, needle: str, timeout: float = RASA_READY_WITHIN) -> None:
        async def logged() -> bool:
            return needle in self.log()

        await self.wait_for(f"logging {needle!r}", logged, timeout)

    async def wait_for_rasa_child(self) -> int:
        async def launched() -> bool:
            return bool(self.rasa_servers())

        await self.wait_for("a Rasa server was started", launched, timeout=60)
        (rasa,) = self.rasa_servers()
        return rasa

    async def stop_with(self, signum: int, timeout: float = STOPPED_WITHIN) -> int:
        """Send ``signum`` to the command alone; its exit status."""
        self.tree()
        self.process.send_signal(signum)
        deadline = asyncio.get_running_loop().time() + timeout
        while self.process.poll() is None:
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"still running {timeout:.0f} s after {signum!r}:\n{self.log()}")
            await asyncio.sleep(0.1)
        return self.process.returncode

    def kill_everything(self) -> None:
        if self.process.poll() is None:
            self.tree()
            self.process.kill()
            self.process.wait(10)
        process_tree.kill(self.seen)


@pytest.fixture
def commands() -> Iterator[list[Command]]:
    """The commands a test starts; none of them, nor anything below them, survives the test."""
    started: list[Command] = []
    yield started
    for command in started:
        command.kill_everything()


def assert_all_stopped(command: Command, tree: set[int], ports: list[int]) -> None:
    assert process_tree.survivors(tree, timeout=5) == set(), (
        f"left running: {[process_tree.command_line(p) for p in tree if process_tree.alive(p)]}")
    for port in ports:
        assert not port_in_use("127.0.0.1", port), f"port {port} is still taken"


async def _ready(url: str) -> bool:
    try:
        async with httpx.AsyncClient(timeout=5) as client:
            return (await client.get(url)).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.fixture
async def telegram() -> AsyncIterator[TelegramStandIn]:
    async with TelegramStandIn() as standin:
        yield standin


async def test_serve_stopped_by_sigterm_stops_its_rasa_server(
        tmp_path: Path, commands: list[Command], telegram: TelegramStandIn) -> None:
    port, nlu_port = free_port(), free_port()
    env = command_env(tmp_path, **TELEGRAM, TELEGRAM_API_BASE_URL=telegram.base_url,
                      FRONTDOOR_NLU_PORT=str(nlu_port))
    serve = Command(["serve", "--port", str(port)], env, tmp_path)
    commands.append(serve)
    await serve.wait_for("ready", lambda: _ready(f"http://127.0.0.1:{port}/readyz"))
    tree = serve.tree()
    assert len(serve.rasa_servers()) == 1

    assert await serve.stop_with(signal.SIGTERM) == -signal.SIGTERM  # ended by it, after cleanup
    log = serve.log()
    assert "Finished server process" in log  # uvicorn's graceful shutdown ran first
    assert "SIGTERM received: stopping" in log
    assert "The local Rasa server has stopped" in log, log  # by serve, not the kernel's net
    assert_all_stopped(serve, tree, [port, nlu_port])


async def test_serve_interrupted_while_rasa_starts_stops_it(
        tmp_path: Path, commands: list[Command], postgres_url: str) -> None:
    """Also on PostgreSQL: the database is not what this is about, but serve must start on it."""
    nlu_port = free_port()
    env = command_env(tmp_path, **TELEGRAM, TELEGRAM_API_BASE_URL="http://127.0.0.1:9/bot",
                      FRONTDOOR_DATABASE_URL=postgres_url, FRONTDOOR_NLU_PORT=str(nlu_port))
    serve = Command(["serve", "--port", str(free_port())], env, tmp_path)
    commands.append(serve)
    await serve.wait_for_rasa_child()
    tree = serve.tree()

    assert await serve.stop_with(signal.SIGINT) == -signal.SIGINT
    log = serve.log()
    assert "Rasa is answering" not in log  # it was stopped while still loading
    assert "SIGINT received: stopping" in log
    assert_all_stopped(serve, tree, [nlu_port])


class StaleRasa:
    """A server left on the NLU port by an earlier run, with an old model: it must not be used."""

    def __init__(self, port: int) -> None:
        self.parses = 0
        stale = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_args: Any) -> None:
                pass

            def _reply(self, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                self._reply({"model_file": "old-model.tar.gz"})

            def do_POST(self) -> None:
                stale.parses += 1
                self._reply({"intent": {"name": "greet", "confidence": 1.0}})

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> StaleRasa:
        self.thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


async def test_serve_refuses_a_stale_server_on_its_nlu_port(
        tmp_path: Path, commands: list[Command]) -> None:
    nlu_port = free_port()
    env = command_env(tmp_path, **TELEGRAM, TELEGRAM_API_BASE_URL="http://127.0.0.1:9/bot",
                      FRONTDOOR_NLU_PORT=str(nlu_port))
    with StaleRasa(nlu_port) as stale:
        serve = Command(["serve", "--port", str(free_port())], env, tmp_path)
        commands.append(serve)
        deadline = asyncio.get_running_loop().time() + 60
        while serve.process.poll() is None and asyncio.get_running_loop().time() < deadline:
            serve.tree()
            await asyncio.sleep(0.1)

    log = serve.log()
    assert serve.process.returncode == 1, log
    assert (f"error: port {nlu_port} on 127.0.0.1 is already in use: a Rasa server with model "
            "old-model.tar.gz answers there") in log
    assert "Traceback" not in log
    assert stale.parses == 0  # never classified with the old model
    assert not any("rasa run" in process_tree.command_line(pid) for pid in serve.seen)


async def test_chat_interrupted_by_ctrl_c_stops_its_rasa_server(
        tmp_path: Path, commands: list[Command]) -> None:
    # stdin is a pipe left open: the chat waits for a line when the signal comes.
    chat = Command(["chat"], command_env(tmp_path), tmp_path, stdin=subprocess.PIPE)
    commands.append(chat)
    await chat.wait_for_log("console chat")  # printed once the NLU answers
    tree = chat.tree()
    (rasa,) = chat.rasa_servers()
    rasa_port = int(process_tree.command_line(rasa).split(" -p ")[1].split()[0])

    assert await chat.stop_with(signal.SIGINT) == -signal.SIGINT
    log = chat.log()
    # Printed once the server is gone, in the cleanup the signal's cancellation runs.
    assert "The local Rasa server has stopped" in log, log
    assert_all_stopped(chat, tree, [rasa_port])
    assert chat.process.stdin is not None
    chat.process.stdin.close()


async def test_nlu_serve_stopped_by_sigterm_stops_rasa(tmp_path: Path,
                                                       commands: list[Command]) -> None:
    nlu_port = free_port()
    nlu = Command(["nlu", "serve", "--port", str(nlu_port)], command_env(tmp_path), tmp_path)
    commands.append(nlu)
    await nlu.wait_for_log("Rasa NLU is serving")
    assert await _ready(f"http://127.0.0.1:{nlu_port}/status")
    tree = nlu.tree()
    assert len(nlu.rasa_servers()) == 1

    assert await nlu.stop_with(signal.SIGTERM) == -signal.SIGTERM
    log = nlu.log()
    assert "Rasa has stopped" in log, log
    assert_all_stopped(nlu, tree, [nlu_port])


async def test_nlu_serve_sigkilled_takes_its_rasa_server_with_it(
        tmp_path: Path, commands: list[Command]) -> None:
    """No cleanup code can run in a SIGKILLed process: the kernel's parent-death signal does it."""
    nlu_port = free_port()
    nlu = Command(["nlu", "serve", "--port", str(nlu_port)], command_env(tmp_path), tmp_path)
    commands.append(nlu)
    rasa = await nlu.wait_for_rasa_child()

    assert await nlu.stop_with(signal.SIGKILL) == -signal.SIGKILL
    assert_all_stopped(nlu, {rasa}, [nlu_port])


@pytest.mark.parametrize("args, signum", [
    (["chat"], signal.SIGTERM),
    (["nlu", "serve"], signal.SIGINT),
], ids=["chat-SIGTERM", "nlu-serve-SIGINT"])
async def test_the_other_signal_while_rasa_starts_stops_it_too(
        args: list[str], signum: int, tmp_path: Path, commands: list[Command]) -> None:
    """With the tests above, each of serve, chat and nlu serve is stopped by both SIGTERM and
    SIGINT as a real process: here chat by SIGTERM and nlu serve by SIGINT, while their Rasa
    server is still loading its model."""
    port_args = ["--port", str(free_port())] if args[0] == "nlu" else []
    command = Command([*args, *port_args], command_env(tmp_path), tmp_path,
                      stdin=subprocess.PIPE)  # chat: waiting for a line when it is signalled
    commands.append(command)
    rasa = await command.wait_for_rasa_child()
    nlu_port = int(process_tree.command_line(rasa).split(" -p ")[1].split()[0])
    tree = command.tree()

    assert await command.stop_with(signum) == -signum
    log = command.log()
    assert f"{signal.Signals(signum).name} received: stopping" in log, log
    assert_all_stopped(command, tree, [nlu_port])
    assert command.process.stdin is not None
    command.process.stdin.close()
