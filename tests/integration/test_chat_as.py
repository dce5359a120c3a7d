"""`frontdoor chat --as NAME` as a newcomer's operator uses it: real processes, no NLU. Any
invited seller can be chatted as (registered by their invitation, as the chat does), and the
next chat finds the seller they became. On SQLite and PostgreSQL."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import update

from bot.texts import t
from storage.database import Database
from storage.models import InvitationRow
from tests.conftest import _truncate_all

FRONTDOOR = str(Path(sys.executable).with_name("frontdoor"))


@pytest.fixture(params=["sqlite", "postgres"])
def env(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[dict[str, str]]:
    clean = {k: v for k, v in os.environ.items()
             if not k.startswith(("FRONTDOOR_", "TELEGRAM_", "SLACK_"))}
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path}/chat.db"
    else:
        url = request.getfixturevalue("postgres_url")
        database = Database(url)
        _truncate_all(database)
        database.dispose()
    clean["FRONTDOOR_DATABASE_URL"] = url
    upgraded = run(["db", "upgrade"], tmp_path, clean)
    assert upgraded.returncode == 0, upgraded.stderr
    yield clean


def run(args: list[str], cwd: Path, env: dict[str, str],
        stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run([FRONTDOOR, *args], cwd=cwd, env=env, input=stdin, text=True,
                          capture_output=True, timeout=120, check=False)


def test_chat_as_an_invited_seller_registers_them(tmp_path: Path, env: dict[str, str]) -> None:
    invited = run(["invite", "create", "Nina's Crafts", "--code", "NINA-2026"], tmp_path, env)
    assert invited.returncode == 0, invited.stderr

    first = run(["chat", "--as", "nina's crafts", "--no-nlu"], tmp_path, env, "/cases\n/quit\n")
    assert first.returncode == 0, first.stderr
    assert t("console.registering_as", name="Nina's Crafts", code="NINA-2026") in first.stdout
    assert "You're registered as Nina's Crafts" in first.stdout
    assert "You have no active cases" in first.stdout  # /cases answered: a registered seller

    again = run(["chat", "--as", "Nina's Crafts", "--no-nlu"], tmp_path, env, "/quit\n")
    assert again.returncode == 0, again.stderr
    assert t("console.chatting_as", name="Nina's Crafts", id=1) in again.stdout
    assert "registered as" not in again.stdout

    # The invitation's code names the seller too; a used one is the seller it made.
    by_code = run(["invite", "create", "Omar Traders", "--code", "OMAR-77"], tmp_path, env)
    assert by_code.returncode == 0, by_code.stderr
    omar = run(["chat", "--as", "omar-77", "--no-nlu"], tmp_path, env, "/quit\n")
    assert "You're registered as Omar Traders" in omar.stdout


def test_chat_as_refuses_an_expired_invitation_and_nobody(tmp_path: Path,
                                                         env: dict[str, str]) -> None:
    run(["invite", "create", "Late Shop", "--code", "LATE-1", "--days", "1"], tmp_path, env)
    expire_invitation("LATE-1", env["FRONTDOOR_DATABASE_URL"])  # the CLI makes none expired
    late = run(["chat", "--as", "Late Shop", "--no-nlu"], tmp_path, env, "/quit\n")
    assert late.returncode == 2
    assert "the invitation LATE-1 for Late Shop expired on" in late.stderr
    nobody = run(["chat", "--as", "Nobody Ltd", "--no-nlu"], tmp_path, env, "/quit\n")
    assert nobody.returncode == 2
    assert "no seller or invitation 'Nobody Ltd'" in nobody.stderr


def expire_invitation(code: str, url: str) -> None:
    database = Database(url)
    try:
        with database.sessions.begin() as session:
            session.execute(update(InvitationRow).where(InvitationRow.code == code)
                            .values(expires_at=datetime.now(UTC) - timedelta(days=1)))
    finally:
        database.dispose()


def test_a_chinese_seller_chats_in_chinese_in_the_terminal_too(
        tmp_path: Path, env: dict[str, str]) -> None:
    """/language chosen once: the next chat's own lines (welcome, who you are) and the bot's
    answers are in Chinese."""
    invited = run(["invite", "create", "王芳的店", "--code", "WANG-2026"], tmp_path, env)
    assert invited.returncode == 0, invited.stderr
    first = run(["chat", "--as", "王芳的店", "--no-nlu"], tmp_path, env,
                "/language\n简体中文\n/quit\n")
    assert first.returncode == 0, first.stderr
    assert "今后我会用简体中文回复您" in first.stdout

    again = run(["chat", "--as", "王芳的店", "--no-nlu"], tmp_path, env, "/cases\n/quit\n")
    assert again.returncode == 0, again.stderr
    assert "Ceylexo 卖家支持（终端聊天）" in again.stdout
    assert "当前身份：王芳的店（卖家 1）。" in again.stdout
    assert "您没有进行中的工单" in again.stdout


def test_chat_with_a_half_configured_portal_stops_with_a_clear_message(
        tmp_path: Path, env: dict[str, str]) -> None:
    """FRONTDOOR_PORTAL on without the public address or with a short session secret: the
    chat says what is missing and exits 2, as `frontdoor serve` does, with no traceback."""
    no_address = run(["chat", "--no-nlu"], tmp_path, {**env, "FRONTDOOR_PORTAL": "true"},
                     "/quit\n")
    assert no_address.returncode == 2, no_address.stderr
    assert "error: FRONTDOOR_PORTAL is on but FRONTDOOR_PUBLIC_URL is not set" in \
        no_address.stderr
    short_secret = run(["chat", "--no-nlu"], tmp_path, {
        **env, "FRONTDOOR_PORTAL": "true", "FRONTDOOR_PUBLIC_URL": "https://support.example.com",
        "FRONTDOOR_SESSION_SECRET": "too-short"}, "/quit\n")
    assert short_secret.returncode == 2, short_secret.stderr
    assert "FRONTDOOR_SESSION_SECRET" in short_secret.stderr
    for result in (no_address, short_secret):
        assert "Traceback" not in result.stderr + result.stdout
