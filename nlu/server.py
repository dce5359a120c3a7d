"""Run the Rasa server (``rasa run --enable-api``) as a child process on 127.0.0.1.

API
---
``RasaServer(model, rasa, port=0, host="127.0.0.1", startup_timeout=300, log_file=None,
echo=False)``
    One server process. ``port=0`` picks a free port. ``start()`` launches it and blocks until
    ``GET /status`` names the loaded model and a ``/model/parse`` answers, then returns the base
    URL (also in ``.url``); ``stop()`` ends it (SIGTERM, then SIGKILL after a grace period).
    It is a context manager (``with RasaServer(...) as url:``) and an async one
    (``async with RasaServer(...) as url:``, start/stop run in a thread). Its output goes to
    ``log_file`` (a temporary file by default; its tail is in the error when start fails) or,
    with ``echo``, to this process's terminal. A server left running when the interpreter
    exits is stopped by an ``atexit`` hook.

``nlu_service(nlu_url, cache_dir, port=0, project=None, out=sys.stderr, echo=False)``
    What ``frontdoor serve``, ``frontdoor chat`` and ``frontdoor nlu parse`` use: a context
    manager yielding the NLU base URL. With ``nlu_url`` (``FRONTDOOR_NLU_URL``) it just yields
    it; otherwise it trains the model if needed, starts a local server and stops it on exit.
    ``anlu_service`` is the async version.

``wait_until_ready(url, timeout)``
    Block until a Rasa server at ``url`` has a model loaded; raises ``RasaServerError``.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from types import TracebackType
from typing import IO, TextIO

import httpx

from nlu.environment import subprocess_env
from nlu.project import RasaProject


class RasaServerError(RuntimeError):
    """The Rasa server did not start, or stopped answering while starting."""


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that is free on ``host`` right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _model_loaded(client: httpx.Client, url: str) -> bool:
    try:
        status = client.get(f"{url}/status")
        if status.status_code != 200 or not status.json().get("model_file"):
            return False
        # A model file alone is not enough: the first parse also has to work.
        parse = client.post(f"{url}/model/parse", json={"text": "hello"})
        return parse.status_code == 200 and "intent" in parse.json()
    except (httpx.HTTPError, ValueError):
        return False


def wait_until_ready(url: str, timeout: float = 300.0, proc: subprocess.Popen[bytes] | None = None,
                     describe: str = "") -> None:
    """Block until the Rasa server at ``url`` has a model loaded and parses.

    If ``proc`` (the server's process) exits meanwhile, fail at once instead of waiting.
    """
    deadline = time.monotonic() + timeout
    with httpx.Client(timeout=10.0) as client:
        while time.monotonic() < deadline:
            if proc is not None and proc.poll() is not None:
                raise RasaServerError(f"Rasa exited with code {proc.returncode} while starting{describe}")
            if _model_loaded(client, url):
                return
            time.sleep(0.5)
    raise RasaServerError(f"Rasa at {url} was not ready after {timeout:.0f} s{describe}")


class RasaServer:
    """One ``rasa run --enable-api`` child process; see the module docstring."""

    def __init__(self, model: Path, rasa: Path, port: int = 0, host: str = "127.0.0.1",
                 startup_timeout: float = 300.0, log_file: Path | None = None,
                 echo: bool = False) -> None:
        self.model = model
        self.rasa = rasa
        self.host = host
        self.port = port
        self.startup_timeout = startup_timeout
        self.log_file = log_file
        self.echo = echo
        self._proc: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def url(self) -> str:
        """The server's base URL (valid once started)."""
        return f"http://{self.host}:{self.port}"

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def _log_tail(self, size: int = 3000) -> str:
        if self.log_file is None or not self.log_file.exists():
            return ""
        data = self.log_file.read_bytes()[-size:]
        return "\n--- end of the Rasa log (" + str(self.log_file) + "):\n" + data.decode("utf-8", "replace")

    def start(self) -> str:
        """Start the server and wait until it parses; return its URL."""
        if self.running:
            return self.url
        if not self.model.is_file():
            raise RasaServerError(f"no model at {self.model}: run `frontdoor nlu train`")
        if self.port == 0:
            self.port = free_port(self.host)
        cmd = [str(self.rasa), "run", "--enable-api", "-i", self.host, "-p", str(self.port),
               "-m", str(self.model)]
        if self.echo:
            stdout: IO[bytes] | None = None
        else:
            if self.log_file is None:
                fd, name = tempfile.mkstemp(prefix=f"rasa-{self.port}-", suffix=".log")
                os.close(fd)
                self.log_file = Path(name)
            self._log = self.log_file.open("ab")
            stdout = self._log
        # Its own session, so stopping it also reaches anything it forked.
        self._proc = subprocess.Popen(cmd, stdout=stdout, stderr=subprocess.STDOUT,
                                      stdin=subprocess.DEVNULL, env=subprocess_env(),
                                      start_new_session=True)
        atexit.register(self.stop)
        try:
            wait_until_ready(self.url, self.startup_timeout, self._proc)
        except RasaServerError as exc:
            self.stop()
            raise RasaServerError(f"{exc}{self._log_tail()}") from None
        return self.url

    def stop(self, grace: float = 15.0) -> None:
        """Stop the server (SIGTERM, then SIGKILL after ``grace`` seconds). Idempotent."""
        proc, self._proc = self._proc, None
        atexit.unregister(self.stop)
        if proc is not None and proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        if self._log is not None:
            self._log.close()
            self._log = None

    def wait(self) -> int:
        """Block until the server exits by itself (``frontdoor nlu serve``); its exit code."""
        if self._proc is None:
            return 0
        return self._proc.wait()

    def __enter__(self) -> str:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    async def __aenter__(self) -> str:
        return await asyncio.to_thread(self.start)

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await asyncio.to_thread(self.stop)


@contextlib.contextmanager
def nlu_service(nlu_url: str | None, cache_dir: Path, port: int = 0, project: RasaProject | None = None,
                out: TextIO = sys.stderr, echo: bool = False) -> Iterator[str]:
    """The NLU base URL: ``nlu_url`` as given, or a local server started (and trained) for the
    block. ``port=0`` picks a free port."""
    if nlu_url:
        yield nlu_url.rstrip("/")
        return
    from nlu.environment import rasa_executable
    from nlu.training import ensure_model

    model = ensure_model(cache_dir, project, out=out)
    print(f"Starting the local Rasa server (model {model.name[:12]}) ...", file=out, flush=True)
    with RasaServer(model, rasa_executable(cache_dir), port=port, echo=echo) as url:
        print(f"Rasa is answering at {url}", file=out, flush=True)
        yield url


@contextlib.asynccontextmanager
async def anlu_service(nlu_url: str | None, cache_dir: Path, port: int = 0,
                       project: RasaProject | None = None, out: TextIO = sys.stderr) -> AsyncIterator[str]:
    """:func:`nlu_service` for async code: training and start-up run in a thread."""
    manager = nlu_service(nlu_url, cache_dir, port, project, out)
    url = await asyncio.to_thread(manager.__enter__)
    try:
        yield url
    finally:
        await asyncio.to_thread(manager.__exit__, None, None, None)
