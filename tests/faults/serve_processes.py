"""Real `frontdoor serve` processes for the fault tests: started as an operator would (the
installed command, settings in the environment, a working directory of their own), each in its
own process group so that a SIGKILL takes the whole process and nothing is left behind.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

FRONTDOOR = str(Path(sys.executable).with_name("frontdoor"))


def free_port() -> int:
    """A port on 127.0.0.1 nothing listens on now (the OS's pick)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def clean_environment(settings: dict[str, str]) -> dict[str, str]:
    """This process's environment without any Frontdoor or platform setting, plus ``settings``."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("FRONTDOOR_", "TELEGRAM_", "SLACK_"))}
    env.update(settings)
    return env


class ServeProcess:
    """One `frontdoor serve` on a fixed port (kept across restarts, as behind a load balancer).
    Its output goes to ``log_path`` (appended over restarts)."""

    def __init__(self, name: str, env: dict[str, str], workdir: Path) -> None:
        self.name = name
        self.port = free_port()
        self.env = env
        self.workdir = workdir
        self.log_path = workdir / f"{name}.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.kills: list[float] = []  # monotonic times of SIGKILLs
        self.starts = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        assert self.process is None or self.process.poll() is not None, "already running"
        self.starts += 1
        with self.log_path.open("ab") as log:
            log.write(f"\n===== start {self.starts} =====\n".encode())
            self.process = subprocess.Popen(
                [FRONTDOOR, "serve", "--port", str(self.port)], cwd=self.workdir, env=self.env,
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True)

    def wait_healthy(self, timeout: float = 60.0) -> None:
        """Until /healthz answers (the lifespan has started: dispatcher running)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise AssertionError(f"{self.name} exited with {self.process.returncode}:\n"
                                     f"{self.log_tail()}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200:
                    return
            time.sleep(0.2)
        raise AssertionError(f"{self.name} not healthy within {timeout}s:\n{self.log_tail()}")

    def kill(self) -> None:
        """SIGKILL the process group: no shutdown, no cleanup, as a crashed machine."""
        if self.process is None or self.process.poll() is not None:
            return
        self.kills.append(time.monotonic())
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        """SIGTERM (a graceful stop), SIGKILL if it takes more than 10 s."""
        if self.process is None or self.process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def log_lines(self, needle: str) -> list[str]:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return []
        return [line for line in text.splitlines() if needle in line]
