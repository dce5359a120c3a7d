"""Per case type Slack channels (SLACK_CHANNEL_<CASE_TYPE>) come from the environment or from
the `.env` file, like every other setting."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.labels import CASE_TYPES
from frontdoor.settings import Settings


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for case_type in CASE_TYPES:
        monkeypatch.delenv(f"SLACK_CHANNEL_{case_type.upper()}", raising=False)
    monkeypatch.delenv("SLACK_SUPPORT_CHANNEL", raising=False)


def _env_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / ".env"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_channel_set_only_in_the_env_file_routes_its_case_type(tmp_path: Path) -> None:
    env = _env_file(tmp_path, "SLACK_SUPPORT_CHANNEL=C0SUPPORT\nSLACK_CHANNEL_PAYMENT=C0PAY\n")

    settings = Settings(_env_file=env)  # type: ignore[call-arg]

    assert settings.slack_channel_for("payment") == "C0PAY"
    assert settings.slack_channel_for("shipping") == "C0SUPPORT"
    assert settings.slack_channel_for(None) == "C0SUPPORT"


def test_the_default_env_file_in_the_working_directory_is_read(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _env_file(tmp_path, "SLACK_CHANNEL_ORDER=C0ORDERS\n")
    monkeypatch.chdir(tmp_path)

    assert Settings().slack_channel_for("order") == "C0ORDERS"


def test_the_environment_wins_over_the_env_file(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    env = _env_file(tmp_path, "SLACK_CHANNEL_PAYMENT=C0FROMFILE\n")
    monkeypatch.setenv("SLACK_CHANNEL_PAYMENT", "C0FROMENV")

    assert Settings(_env_file=env).slack_channel_for("payment") == "C0FROMENV"  # type: ignore[call-arg]


def test_every_case_type_can_have_its_own_channel(monkeypatch: pytest.MonkeyPatch) -> None:
    for n, case_type in enumerate(CASE_TYPES):
        monkeypatch.setenv(f"SLACK_CHANNEL_{case_type.upper()}", f"C{n:08d}")

    settings = Settings(_env_file=None)  # type: ignore[call-arg]

    assert [settings.slack_channel_for(c) for c in CASE_TYPES] == [
        f"C{n:08d}" for n in range(len(CASE_TYPES))]
    assert settings.slack_channel_for("not_a_case_type") is None
