"""Run the Rasa server (``rasa run --enable-api``) as a child process on 127.0.0.1.

API
---
``RasaServer(model, rasa, port=0, host="127.0.0.1", startup_timeout=300, log_file=None,
echo=False)``
    One server process. ``port=0`` picks a free port; a given port that something already
    listens on is refused (``RasaServerError``) rather than worked around, see ``launch``.
    ``start()`` launches it and blocks until ``GET /status`` names *its* model and a
    ``/model/parse`` answers, then returns the base URL (also in ``.url``); ``stop()`` ends it
    and anything it forked (SIGTERM to its process group, SIGKILL after a grace period).
    ``astart()``/``astop()`` are the async versions: the process is launched on the calling
    (event loop) thread and readiness is awaited, so cancelling ``astart`` stops the server at
    once; cancelling ``astop`` does not cut the stop short. It is a context manager
    (``with RasaServer(...) as url:``) and an async one (``async with ...``). Its output goes
    to ``log_file`` (a temporary file by default; its tail is in the error when start fails)
    or, with ``echo``, to this process's terminal. The process is spawned by
    :mod:`nlu.processes`: it dies with this process even when this one is SIGKILLed, and is
    stopped at interpreter exit.

``nlu_service(nlu_url, cache_dir, port=0, project=None, out=sys.stderr, echo=False)``
    A context manager yielding the NLU base URL (``frontdoor nlu parse`` and ``evaluate``,
    tests, benchmarks). With ``nlu_url`` (``FRONTDOOR_NLU_URL``) it just yields it; otherwise
    it trains the model if needed, starts a local server and stops it on exit.
    ``anlu_service`` is the async version (``frontdoor serve`` and ``chat``).

``wait_until_ready(url, timeout)`` / ``await_ready(url, timeout)``
    Block (or await) until a Rasa server at ``url`` has a model loaded; raise
    ``RasaServerError``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from types import TracebackType
from typing import IO, Any, TextIO

import httpx

from nlu import processes
from nlu.environment import subprocess_env
from nlu.project import RasaProject

POLL_SECONDS = 0.5


class RasaServerError(RuntimeError):
    """The Rasa server did not start, or stopped answering while starting."""


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that is free on ``host`` right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def port_in_use(host: str, port: int) -> bool:
    """True when something listens on ``host:port`` (or on all interfaces at that port)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # SO_REUSEADDR as servers use it: connections of a stopped server lingering in
        # TIME_WAIT do not count, only a listening socket does.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return True
    return False


def _describe_listener(url: str) -> str:
    """What answers at ``url``, for the error when its port is taken."""
    try:
        status = httpx.get(f"{url}/status", timeout=2.0).json()
        model = status.get("model_file") if isinstance(status, dict) else None
    except (httpx.HTTPError, ValueError):
        return "something that is not a Rasa server listens there"
    if model:
        return f"a Rasa server with model {model} answers there, probably left by an earlier run"
    return "a Rasa server answers there, probably left by an earlier run"


class _Readiness:
    """The checks of a server that is starting: is it ready, did it fail?"""

    def __init__(self, url: str, proc: subprocess.Popen[bytes] | None, model_name: str | None,
                 describe: str) -> None:
        self.url = url
        self.proc = proc
        self.model_name = model_name
        self.describe = describe

    def check_alive(self) -> None:
        if self.proc is not None and self.proc.poll() is not None:
            raise RasaServerError(f"Rasa exited with code {self.proc.returncode} while "
                                  f"starting{self.describe}")

    def loaded(self, status: Any) -> bool:
        """Whether ``/status`` names a model; raises if it is not the one we started."""
        model = status.get("model_file") if isinstance(status, dict) else None
        if not model:
            return False
        if self.model_name is not None and Path(str(model)).name != self.model_name:
            # Another server answers on our port: never classify with a model we did not load.
            raise RasaServerError(f"{self.url} serves model {model}, not {self.model_name}: "
                                  f"another Rasa server holds the port{self.describe}")
        return True

    @staticmethod
    def parsed(answer: httpx.Response) -> bool:
        # A model file alone is not enough: the first parse also has to work.
        return answer.status_code == 200 and "intent" in answer.json()


def wait_until_ready(url: str, timeout: float = 300.0, proc: subprocess.Popen[bytes] | None = None,
                     describe: str = "", model_name: str | None = None) -> None:
    """Block until the Rasa server at ``url`` has a model loaded (``model_name``, if given)
    and parses. If ``proc`` (the server's process) exits meanwhile, fail at once."""
    readiness = _Readiness(url, proc, model_name, describe)
    deadline = time.monotonic() + timeout
    with httpx.Client(timeout=10.0) as client:
        while time.monotonic() < deadline:
            readiness.check_alive()
            try:
                status = client.get(f"{url}/status")
                if status.status_code == 200 and readiness.loaded(status.json()) \
                        and readiness.parsed(client.post(f"{url}/model/parse", json={"text": "hello"})):
                    return
            except (httpx.HTTPError, ValueError):
                pass
            time.sleep(POLL_SECONDS)
    raise RasaServerError(f"Rasa at {url} was not ready after {timeout:.0f} s{describe}")


async def await_ready(url: str, timeout: float = 300.0, proc: subprocess.Popen[bytes] | None = None,
                      describe: str = "", model_name: str | None = None) -> None:
    """:func:`wait_until_ready` for async code; cancelling it stops the waiting at once."""
    readiness = _Readiness(url, proc, model_name, describe)
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient(timeout=10.0) as client:
        while time.monotonic() < deadline:
            readiness.check_alive()
            try:
                status = await client.get(f"{url}/status")
                if status.status_code == 200 and readiness.loaded(status.json()) \
                        and readiness.parsed(await client.post(f"{url}/model/parse",
                                                               json={"text": "hello"})):
                    return
            except (httpx.HTTPError, ValueError):
                pass
            await asyncio.sleep(POLL_SECONDS)
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

    @property
    def pid(self) -> int | None:
        """The server process's id while it runs (it also leads its process group)."""
        return self._proc.pid if self.running and self._proc is not None else None

    def _log_tail(self, size: int = 3000) -> str:
        if self.log_file is None or not self.log_file.exists():
            return ""
        data = self.log_file.read_bytes()[-size:]
        return "\n--- end of the Rasa log (" + str(self.log_file) + "):\n" + data.decode("utf-8", "replace")

    def launch(self) -> None:
        """Start the process without waiting for it to be ready (``start``/``astart`` wait)."""
        if self.running:
            return
        if not self.model.is_file():
            raise RasaServerError(f"no model at {self.model}: run `frontdoor nlu train`")
        if self.port == 0:
            self.port = free_port(self.host)
        elif port_in_use(self.host, self.port):
            # Refuse rather than pick another port: whatever holds a configured port (most
            # likely a server an earlier run could not stop, 1 GB and possibly an old model)
            # must be noticed and removed, not silently kept alive beside a new one; and a
            # configured port is a promise to whoever else (firewall, operator) relies on it.
            raise RasaServerError(
                f"port {self.port} on {self.host} is already in use: "
                f"{_describe_listener(self.url)}. Stop that process (`ss -ltnp` shows it) or "
                "choose another port (FRONTDOOR_NLU_PORT, or --port)")
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
        self._proc = processes.spawn(cmd, stdout=stdout, stderr=subprocess.STDOUT,
                                     env=subprocess_env())

    def start(self) -> str:
        """Start the server and wait until it parses; return its URL."""
        if self.running:
            return self.url
        self.launch()
        try:
            wait_until_ready(self.url, self.startup_timeout, self._proc, model_name=self.model.name)
        except BaseException as exc:
            self.stop()
            if isinstance(exc, RasaServerError):
                raise RasaServerError(f"{exc}{self._log_tail()}") from None
            raise
        return self.url

    async def astart(self) -> str:
        """:meth:`start` for async code. Launches on the calling thread, which must live as
        long as the server (see nlu.processes); a cancelled start stops the server."""
        if self.running:
            return self.url
        self.launch()
        try:
            await await_ready(self.url, self.startup_timeout, self._proc,
                              model_name=self.model.name)
        except BaseException as exc:
            await self.astop()
            if isinstance(exc, RasaServerError):
                raise RasaServerError(f"{exc}{self._log_tail()}") from None
            raise
        return self.url

    def stop(self, grace: float = 15.0) -> None:
        """Stop the server (SIGTERM, then SIGKILL after ``grace`` seconds). Idempotent."""
        proc, self._proc = self._proc, None
        if proc is not None:
            processes.stop(proc, grace)
        if self._log is not None:
            self._log.close()
            self._log = None

    async def astop(self, grace: float = 15.0) -> None:
        """:meth:`stop` without blocking the event loop. A cancellation does not cut it short:
        it still waits for the stop (bounded by ``grace`` and the SIGKILL) to finish, then
        passes the cancellation on, so once it has returned or raised the server is gone."""
        stopping = asyncio.ensure_future(asyncio.to_thread(self.stop, grace))
        cancelled = False
        while not stopping.done():
            try:
                await asyncio.shield(stopping)
            except asyncio.CancelledError:
                cancelled = True
        stopping.result()  # the stop's own failure, if any
        if cancelled:
            raise asyncio.CancelledError

    def wait(self) -> int:
        """Block until the server exits by itself; its exit code."""
        if self._proc is None:
            return 0
        return self._proc.wait()

    async def await_exit(self) -> int:
        """Until the server exits by itself (``frontdoor nlu serve``); its exit code."""
        while self._proc is not None and self._proc.poll() is None:
            await asyncio.sleep(POLL_SECONDS)
        return 0 if self._proc is None else self._proc.returncode

    def __enter__(self) -> str:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    async def __aenter__(self) -> str:
        return await self.astart()

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.astop()


def _local_server(cache_dir: Path, model: Path, port: int, echo: bool = False) -> RasaServer:
    from nlu.environment import rasa_executable

    return RasaServer(model, rasa_executable(cache_dir), port=port, echo=echo)


@contextlib.contextmanager
def nlu_service(nlu_url: str | None, cache_dir: Path, port: int = 0, project: RasaProject | None = None,
                out: TextIO = sys.stderr, echo: bool = False) -> Iterator[str]:
    """The NLU base URL: ``nlu_url`` as given, or a local server started (and trained) for the
    block. ``port=0`` picks a free port."""
    if nlu_url:
        yield nlu_url.rstrip("/")
        return
    from nlu.training import ensure_model

    model = ensure_model(cache_dir, project, out=out)
    print(f"Starting the local Rasa server (model {model.name[:12]}) ...", file=out, flush=True)
    server = _local_server(cache_dir, model, port, echo)
    url = server.start()  # a failed or interrupted start stops the server itself
    print(f"Rasa is answering at {url}", file=out, flush=True)
    try:
        yield url
    finally:
        # In the finally, not after a `with`: the block is often left by an exception
        # (Ctrl-C), and the stop and its last line must happen then too.
        print(f"Stopping the local Rasa server at {url} ...", file=out, flush=True)
        server.stop()
        print("The local Rasa server has stopped", file=out, flush=True)


@contextlib.asynccontextmanager
async def anlu_service(nlu_url: str | None, cache_dir: Path, port: int = 0,
                       project: RasaProject | None = None, out: TextIO = sys.stderr) -> AsyncIterator[str]:
    """:func:`nlu_service` for async code: training runs in a thread, the server is launched
    on the event loop's thread and awaited, so a cancellation at any point stops it."""
    if nlu_url:
        yield nlu_url.rstrip("/")
        return
    from nlu.training import ensure_model

    model = await asyncio.to_thread(ensure_model, cache_dir, project, out)
    print(f"Starting the local Rasa server (model {model.name[:12]}) ...", file=out, flush=True)
    server = _local_server(cache_dir, model, port)
    url = await server.astart()  # a failed or cancelled start stops the server itself
    print(f"Rasa is answering at {url}", file=out, flush=True)
    try:
        yield url
    finally:
        # In the finally, not after an `async with`: a stop signal cancels the caller, so
        # the block is left by CancelledError, and the stop and its last line must happen then.
        print(f"Stopping the local Rasa server at {url} ...", file=out, flush=True)
        await server.astop()
        print("The local Rasa server has stopped", file=out, flush=True)
