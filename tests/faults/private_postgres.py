"""A PostgreSQL server of the test's own, for the one fault the shared test server cannot be put
through: being stopped and started again (the other tests, and other people's, use that one).

It is the same PostgreSQL installation as the shared server (``initdb`` and ``pg_ctl`` on the
PATH), in a fresh data directory under /tmp, listening on a free loopback port, with trust
authentication for the ``postgres`` user. PostgreSQL refuses to run as root, so when the tests
run as root the server runs as the ``postgres`` system user.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from nlu.server import free_port

#: The system user that runs the server when the tests run as root.
SERVER_USER = "postgres"


class PrivatePostgres:
    """One server: ``stop`` and ``start`` it as an operator would (``pg_ctl``)."""

    def __init__(self, base: Path, port: int) -> None:
        self.base = base
        self.data = base / "data"
        self.port = port
        self.log = base / "server.log"
        self.downtimes: list[tuple[float, float]] = []  # (monotonic stop, seconds down)
        self._stopped_at: float | None = None

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        prefix = ["runuser", "-u", SERVER_USER, "--"] if os.geteuid() == 0 else []
        return subprocess.run([*prefix, *args], capture_output=True, text=True, timeout=120,
                              check=check)

    def initialise(self) -> None:
        # --no-sync: only the cluster's creation skips fsync; the server itself runs with
        # PostgreSQL's defaults (fsync on), as in production.
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust",
                  "--no-sync", "-E", "UTF8")

    def start(self) -> None:
        options = (f"-p {self.port} -c listen_addresses=127.0.0.1 "
                   f"-c unix_socket_directories={self.base}")
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options, "-w",
                  "-t", "60", "start")
        if self._stopped_at is not None:
            self.downtimes.append((self._stopped_at, time.monotonic() - self._stopped_at))
            self._stopped_at = None

    def stop(self, mode: str = "fast") -> None:
        """``fast``: every session is ended and its transaction rolled back, then a clean
        shutdown (what a restart of the service does); ``immediate``: a crash."""
        self._stopped_at = time.monotonic()
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop")

    def log_tail(self, lines: int = 20) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        return ""


@contextlib.contextmanager
def private_postgres() -> Iterator[PrivatePostgres]:
    """A running private server; stopped and its data directory removed afterwards."""
    base = Path(tempfile.mkdtemp(prefix="frontdoor-pg-"))
    if os.geteuid() == 0:
        account = pwd.getpwnam(SERVER_USER)
        os.chown(base, account.pw_uid, account.pw_gid)
    server = PrivatePostgres(base, free_port())
    try:
        server.initialise()
        server.start()
        yield server
    finally:
        server._run("pg_ctl", "-D", str(server.data), "-m", "immediate", "-w", "stop",
                    check=False)
        shutil.rmtree(base, ignore_errors=True)
