"""A setting the operator got wrong is refused when the settings are read, by its variable's
name and why, in one line: not at 09:00, not deep inside the server's start, not as a
pydantic traceback, and never by quietly doing something else."""

from __future__ import annotations

from pathlib import Path

import pytest

from frontdoor.settings import SettingsError, load_settings


@pytest.fixture(autouse=True)
def no_env_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # no `.env` of the working tree


@pytest.mark.parametrize("written", ["Polling", "POLLING", " polling "])
def test_telegram_mode_polling_may_be_written_in_any_case(
        monkeypatch: pytest.MonkeyPatch, written: str) -> None:
    monkeypatch.setenv("TELEGRAM_MODE", written)

    assert load_settings().telegram.mode == "polling"


def test_telegram_mode_webhook_may_be_written_in_any_case(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TELEGRAM_MODE", "Webhook")

    assert load_settings().telegram.mode == "webhook"


def test_a_telegram_mode_that_is_neither_is_refused_not_taken_for_webhook(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TELEGRAM_MODE", "poling")

    with pytest.raises(SettingsError) as refused:
        load_settings()

    assert str(refused.value) == "TELEGRAM_MODE: webhook or polling (got 'poling')"


@pytest.mark.parametrize(("variable", "value", "reason"), [
    ("FRONTDOOR_DAILY_CASE_CAP", "abc", "Input should be a valid integer"),
    ("FRONTDOOR_PORT", "99999", "less than or equal to 65535"),
    ("FRONTDOOR_NLU_PORT", "-1", "greater than or equal to 1"),
    ("FRONTDOOR_DIGEST_TIMEZONE", "Mars/Base", "not an IANA time zone"),
    ("FRONTDOOR_DIGEST_TIME", "9am", "a time of day as HH:MM"),
    ("FRONTDOOR_REMINDER_HOURS", "72,24", "ascending"),
    ("FRONTDOOR_REMINDER_HOURS", "24,three days", "comma-separated"),
    ("FRONTDOOR_REMINDER_HOURS", "", "comma-separated"),
    ("FRONTDOOR_SWEEP_BATCH_SIZE", "0", "greater than or equal to 1"),
    ("FRONTDOOR_SWEEP_INTERVAL_SECONDS", "0", "greater than 0"),
    ("FRONTDOOR_FIRST_RESPONSE_WARNING_RATIO", "1.5", "less than 1"),
    ("FRONTDOOR_FIRST_RESPONSE_WARNING_RATIO", "0", "greater than 0"),
])
def test_a_bad_value_is_refused_in_one_line_by_its_variables_name(
        monkeypatch: pytest.MonkeyPatch, variable: str, value: str, reason: str) -> None:
    monkeypatch.setenv(variable, value)

    with pytest.raises(SettingsError) as refused:
        load_settings()

    message = str(refused.value)
    assert message.startswith(f"{variable}: ") and reason in message
    assert "\n" not in message and "pydantic" not in message


def test_every_bad_value_is_named_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FRONTDOOR_PORT", "http")
    monkeypatch.setenv("FRONTDOOR_DIGEST_TIME", "noon")

    with pytest.raises(SettingsError) as refused:
        load_settings()

    assert {problem.split(":")[0] for problem in str(refused.value).split("; ")} == {
        "FRONTDOOR_PORT", "FRONTDOOR_DIGEST_TIME"}


def test_the_documented_forms_are_accepted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FRONTDOOR_REMINDER_HOURS", "12, 24.5,72")
    monkeypatch.setenv("FRONTDOOR_DIGEST_TIME", "17:30")
    monkeypatch.setenv("FRONTDOOR_DIGEST_TIMEZONE", "Asia/Shanghai")
    monkeypatch.setenv("FRONTDOOR_PORT", "0")  # the OS picks a free port

    settings = load_settings()

    assert settings.scheduler.reminder_hours == "12, 24.5,72"
    assert settings.scheduler.digest_time == "17:30"
    assert settings.frontdoor_port == 0
