"""The relay benchmark's server under test: the real `frontdoor serve --port 0` in a child
process, the environment that points it at the stand-ins (and the credentials both sides
share), and the invitation codes an operator creates for the simulated sellers."""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path

from bench.keyword_rasa import KeywordRasa
from tests.faults.serve_processes import clean_environment
from tests.standins.slack_api import SlackStandIn
from tests.standins.telegram_api import TelegramStandIn

ROOT = Path(__file__).resolve().parent.parent
TELEGRAM_TOKEN = "123:BENCH"
TELEGRAM_SECRET = "bench-webhook-secret"
SLACK_TOKEN = "xoxb-bench"
SIGNING_SECRET = "bench-signing-secret"
SUPPORT = "C0SUPPORT"
AGENT = "U0AGENT01"


@dataclass
class ServeProcess:
    """`frontdoor serve --port 0` in a child process; ``url`` once it is listening."""

    env: dict[str, str]
    url: str = ""
    proc: subprocess.Popen[str] | None = None
    tail: list[str] = field(default_factory=list)

    def start(self, timeout: float = 120.0) -> None:
        exe = str(ROOT / ".venv" / "bin" / "frontdoor")
        self.proc = subprocess.Popen(
            [exe, "serve", "--host", "127.0.0.1", "--port", "0"], cwd=tempfile.gettempdir(),
            env=self.env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE, text=True)
        found: queue.Queue[str] = queue.Queue()

        def drain() -> None:  # also keeps the pipe from filling up
            assert self.proc is not None and self.proc.stderr is not None
            for line in self.proc.stderr:
                self.tail = (self.tail + [line.rstrip()])[-40:]
                match = re.search(r"Uvicorn running on (http://127\.0\.0\.1:\d+)", line)
                if match:
                    found.put(match.group(1))

        threading.Thread(target=drain, name="serve-stderr", daemon=True).start()
        try:
            self.url = found.get(timeout=timeout)
        except queue.Empty:
            self.stop()
            raise RuntimeError("frontdoor serve did not start:\n" + "\n".join(self.tail)) from None

    def cpu_seconds(self) -> float:
        """User + system CPU time the server process has used so far."""
        assert self.proc is not None
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGINT)  # graceful: lifespan shutdown
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)

def serve_env(database_url: str, telegram: TelegramStandIn, slack: SlackStandIn,
              nlu: KeywordRasa) -> dict[str, str]:
    """The server's whole configuration: this process's environment without any Frontdoor or
    platform setting, pointed at the stand-ins and the benchmark's database."""
    return clean_environment({
        "FRONTDOOR_DATABASE_URL": database_url,
        "FRONTDOOR_NLU_URL": nlu.origin,
        "TELEGRAM_BOT_TOKEN": TELEGRAM_TOKEN,
        "TELEGRAM_API_BASE_URL": telegram.base_url,
        "TELEGRAM_WEBHOOK_SECRET": TELEGRAM_SECRET,
        "SLACK_BOT_TOKEN": SLACK_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_BASE_URL": slack.base_url,
        "SLACK_SUPPORT_CHANNEL": SUPPORT,
        "FRONTDOOR_DAILY_CASE_CAP": "1000",
    })


def create_invitations(database_url: str, count: int) -> list[str]:
    """Invitation codes, created as an operator would (`CaseService.create_invitation`)."""
    from frontdoor.settings import Settings
    from frontdoor.wiring import build_services

    services = build_services(Settings(_env_file=None,  # type: ignore[call-arg]
                                       frontdoor_database_url=database_url))
    try:
        return [services.cases.create_invitation(f"Bench Shop {i}").code for i in range(count)]
    finally:
        services.database.dispose()
