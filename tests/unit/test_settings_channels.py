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

    assert settings.slack.channel_for("payment") == "C0PAY"
    assert settings.slack.channel_for("shipping") == "C0SUPPORT"
    assert settings.slack.channel_for(None) == "C0SUPPORT"


def test_the_default_env_file_in_the_working_directory_is_read(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _env_file(tmp_path, "SLACK_CHANNEL_ORDER=C0ORDERS\n")
    monkeypatch.chdir(tmp_path)

    assert Settings().slack.channel_for("order") == "C0ORDERS"


def test_the_environment_wins_over_the_env_file(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    env = _env_file(tmp_path, "SLACK_CHANNEL_PAYMENT=C0FROMFILE\n")
    monkeypatch.setenv("SLACK_CHANNEL_PAYMENT", "C0FROMENV")

    assert Settings(_env_file=env).slack.channel_for("payment") == "C0FROMENV"  # type: ignore[call-arg]


def test_every_case_type_can_have_its_own_channel(monkeypatch: pytest.MonkeyPatch) -> None:
    for n, case_type in enumerate(CASE_TYPES):
        monkeypatch.setenv(f"SLACK_CHANNEL_{case_type.upper()}", f"C{n:08d}")

    settings = Settings(_env_file=None)  # type: ignore[call-arg]

    assert [settings.slack.channel_for(c) for c in CASE_TYPES] == [
        f"C{n:08d}" for n in range(len(CASE_TYPES))]
    assert settings.slack.channel_for("not_a_case_type") is None


def test_the_groups_read_the_operators_flat_variable_names(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    env = _env_file(tmp_path, "TELEGRAM_MODE=polling\nFRONTDOOR_DIGEST_TIME=07:15\n"
                              "SLACK_BOT_TOKEN=xoxb-file\n")
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-env")
    monkeypatch.setenv("FRONTDOOR_SWEEP_BATCH_SIZE", "40")

    settings = Settings(_env_file=env, slack_app_token="xapp-given")  # type: ignore[call-arg]

    assert settings.telegram.mode == "polling"
    assert (settings.scheduler.digest_time, settings.scheduler.sweep_batch_size) == ("07:15", 40)
    assert settings.slack.bot_token == "xoxb-env"  # the environment wins over .env
    assert settings.slack.app_token == "xapp-given"  # a keyword wins over both
    assert settings.slack.api_base_url == "https://slack.com/api/"  # the default


def test_every_variable_of_a_group_keeps_its_name() -> None:
    names = Settings.variable_names()

    assert {"SLACK_BOT_TOKEN", "SLACK_CHANNEL_PAYMENT", "TELEGRAM_WEBHOOK_SECRET",
            "FRONTDOOR_REMINDER_HOURS", "FRONTDOOR_DATABASE_URL"} <= set(names)
    assert not {"SLACK", "TELEGRAM", "SCHEDULER"} & set(names)


def test_a_bad_group_value_is_refused_by_its_variables_name(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FRONTDOOR_SWEEP_BATCH_SIZE", "many")

    with pytest.raises(ValueError, match="sweep_batch_size"):
        Settings(_env_file=None)  # type: ignore[call-arg]
