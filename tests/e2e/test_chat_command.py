"""`frontdoor chat` as a newcomer runs it (what `make run` ends in): a real process, the real
model, a fresh SQLite file, the demo invitation; then an agent's CLI reply reaches the chat."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.rasa

FRONTDOOR = str(Path(sys.executable).with_name("frontdoor"))
ORDER = "123-1234567-1234567"


def run(args: list[str], cwd: Path, env: dict[str, str], stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run([FRONTDOOR, *args], cwd=cwd, env=env, input=stdin, text=True,
                          capture_output=True, timeout=120, check=False)


@pytest.fixture
def env(tmp_path: Path, rasa_url: str) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items()
             if not k.startswith(("FRONTDOOR_", "TELEGRAM_", "SLACK_"))}
    clean.update(FRONTDOOR_DATABASE_URL=f"sqlite:///{tmp_path}/chat.db", FRONTDOOR_NLU_URL=rasa_url)
    return clean


def test_newcomer_registers_with_the_demo_code_and_opens_a_case(tmp_path: Path,
                                                                env: dict[str, str]) -> None:
    lines = ["CEYLEXO-DEMO",
             f"my package to the buyer never arrived, tracking shows no movement for order {ORDER}",
             "yes", "/quit"]
    first = run(["chat"], tmp_path, env, "\n".join(lines) + "\n")
    assert first.returncode == 0, first.stderr
    assert "Your demo invitation code is CEYLEXO-DEMO" in first.stdout
    assert "Opened CX-000001" in first.stdout

    # The agent answers from another terminal...
    reply = run(["case", "reply", "cx-1", "We have asked the carrier to trace it.", "--as", "Ann"],
                tmp_path, env)
    assert reply.returncode == 0, reply.stderr
    # ...and the seller sees it in the chat (picked by name with --as), then asks for news.
    again = run(["chat", "--as", "Demo Seller"], tmp_path, env, "any update on my cases?\n/quit\n")
    assert again.returncode == 0, again.stderr
    assert "Chatting as Demo Seller" in again.stdout
    assert "We have asked the carrier to trace it." in again.stdout
    assert "CX-000001" in again.stdout


def test_unknown_seller_for_as_is_refused(tmp_path: Path, env: dict[str, str]) -> None:
    result = run(["chat", "--as", "Nobody Ltd", "--no-nlu"], tmp_path, env, "/quit\n")
    assert result.returncode == 2
    assert "no seller or invitation 'Nobody Ltd'" in result.stderr
