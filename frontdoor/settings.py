"""The configuration contract (the README's table): environment variables, and a `.env` file."""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import time, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field, ValidationError, field_validator, model_validator
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from bot.labels import CASE_TYPES
from bot.web_chat import RECOVERY_MAX_AGE


def default_cache_dir() -> Path:
    """Per-user cache (XDG): the Rasa environment and trained models live here."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "frontdoor"


#: A TCP port to listen on; 0 asks the OS for a free one.
Port = Annotated[int, Field(ge=0, le=65535)]


class SettingsError(ValueError):
    """Settings the operator must correct, each as "VARIABLE: reason", on one line."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems

    @classmethod
    def of_variable(cls, variable: str, reason: str) -> SettingsError:
        return cls([f"{variable.upper()}: {reason}"])

    @classmethod
    def from_validation(cls, error: ValidationError) -> SettingsError:
        """Pydantic's errors under the operator's variable names, without its traceback."""
        problems = []
        for detail in error.errors(include_url=False):
            reason = detail["msg"].removeprefix("Value error, ")
            given = detail.get("input")
            # Our own validators say what was given; pydantic's checks do not.
            if detail["type"] != "value_error" and isinstance(given, str | int | float):
                reason += f" (got {given!r})"
            problems.append(f"{_variable_of(detail['loc'])}: {reason}")
        return cls(problems)


def _variable_of(location: tuple[int | str, ...]) -> str:
    """The environment variable of a field's location: ("scheduler", "digest_time") is
    FRONTDOOR_DIGEST_TIME."""
    names = [str(part) for part in location]
    if len(names) >= 2 and names[0] in GROUPS:
        return (GROUPS[names[0]][0] + names[1]).upper()
    return names[0].upper() if names else "settings"


class SchedulerSettings(BaseModel):
    """The scheduler's times and thresholds (FRONTDOOR_REMINDER_HOURS, ...). Checked here, when
    the settings are read, as `bot.sweep_config.SchedulerConfig` checks them, so a bad value
    stops every command with its variable's name before `serve` migrates or starts anything."""

    reminder_hours: str = "24,72"
    pending_auto_close_days: int = 7
    resolved_auto_close_days: int = 7
    first_response_warning_ratio: Annotated[float, Field(gt=0, lt=1)] = 0.75
    digest_time: str = "09:00"
    digest_timezone: str = "Europe/London"
    digest_max_items: int = 15
    digest_catch_up_hours: Annotated[float, Field(ge=0)] = 24
    sweep_interval_seconds: Annotated[float, Field(gt=0)] = 60
    sweep_batch_size: Annotated[int, Field(ge=1)] = 500

    @field_validator("reminder_hours")
    @classmethod
    def _hours_ascending(cls, hours: str) -> str:
        try:
            numbers = [float(hour) for hour in hours.split(",")]
        except ValueError:
            numbers = []
        if not numbers or min(numbers) <= 0 or numbers != sorted(numbers):
            raise ValueError("hours after a case started waiting, comma-separated and "
                             f"ascending, like 24,72 (got {hours!r})")
        return hours

    @field_validator("digest_time")
    @classmethod
    def _time_of_day(cls, value: str) -> str:
        try:
            time.fromisoformat(value)
        except ValueError:
            raise ValueError(f"a time of day as HH:MM, like 09:00 (got {value!r})") from None
        return value

    @field_validator("digest_timezone")
    @classmethod
    def _time_zone(cls, name: str) -> str:
        try:
            ZoneInfo(name)
        except (KeyError, ValueError):  # ZoneInfoNotFoundError is a KeyError
            raise ValueError(f"not an IANA time zone such as Europe/London (got {name!r})"
                             ) from None
        return name


class TelegramSettings(BaseModel):
    """The Telegram bot (TELEGRAM_BOT_TOKEN, ...)."""

    bot_token: str | None = None
    api_base_url: str = "https://api.telegram.org/bot"
    webhook_secret: str | None = None
    mode: Literal["webhook", "polling"] = "webhook"
    webhook_url: str | None = None  # set: registered with Telegram on start

    @field_validator("mode", mode="before")
    @classmethod
    def _one_of_two_modes(cls, mode: Any) -> Any:
        """In any case ("Polling"); anything else is refused, never taken for webhook mode
        (which, without its secret, answered every update 503 and polled nothing)."""
        written = mode.strip().lower() if isinstance(mode, str) else mode
        if written not in ("webhook", "polling"):
            raise ValueError(f"webhook or polling (got {mode!r})")
        return written


class SlackSettings(BaseModel):
    """The Slack app and the agents' channels (SLACK_BOT_TOKEN, ...)."""

    bot_token: str | None = None
    signing_secret: str | None = None
    app_token: str | None = None
    api_base_url: str = "https://slack.com/api/"
    support_channel: str | None = None
    # Where requests for an invitation go, with Approve / Decline (unset: the support channel).
    invites_channel: str | None = None
    # A user group id (S…): new cases are assigned round robin among its members who are not
    # away, and a case unanswered at the first-response warning goes to the next one.
    agents_group: str | None = None
    # SLACK_CHANNEL_<CASE_TYPE>: one field per case type of the fixed label set (bot/labels.py),
    # so they are read from `.env` as well as from the environment, like every other setting.
    channel_account_health: str | None = None
    channel_account_access: str | None = None
    channel_registration: str | None = None
    channel_listing: str | None = None
    channel_order: str | None = None
    channel_payment: str | None = None
    channel_shipping: str | None = None
    channel_inventory: str | None = None
    channel_policy: str | None = None
    channel_advertising: str | None = None
    # Hosts the bot token may be sent to, to download files agents share (comma-separated).
    file_hosts: str = "files.slack.com"
    note_prefix: str = "note:"
    link_base: str = "https://slack.com"

    def channel_for(self, case_type: str | None) -> str | None:
        """SLACK_CHANNEL_<CASE_TYPE> if set, else the support channel."""
        if case_type and case_type in CASE_TYPES:
            specific: str | None = getattr(self, f"channel_{case_type}")
            if specific:
                return specific
        return self.support_channel


#: The nested groups: the field of `Settings`, its variables' prefix, its model.
GROUPS: dict[str, tuple[str, type[BaseModel]]] = {
    "scheduler": ("frontdoor_", SchedulerSettings),
    "telegram": ("telegram_", TelegramSettings),
    "slack": ("slack_", SlackSettings),
}


class _GroupVariables(PydanticBaseSettingsSource):
    """The groups' values from the variables another source read (keywords, the environment,
    or `.env`): SLACK_BOT_TOKEN is ``slack.bot_token``. The operator's names stay flat."""

    def __init__(self, settings_cls: type[BaseSettings],
                 variables: PydanticBaseSettingsSource) -> None:
        super().__init__(settings_cls)
        found: Mapping[str, Any] = (getattr(variables, "env_vars", None)
                                    or getattr(variables, "init_kwargs", None) or {})
        self.variables = {name.lower(): value for name, value in found.items()}

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False  # all the work is in __call__

    def __call__(self) -> dict[str, Any]:
        found: dict[str, Any] = {}
        for group, (prefix, model) in GROUPS.items():
            values = {name: self.variables[prefix + name] for name in model.model_fields
                      if self.variables.get(prefix + name) is not None}
            if values:
                found[group] = values
        return found


class Settings(BaseSettings):
    """Every setting, with its default. A field's name in upper case is its environment
    variable; a group's field is its prefix plus the field (``slack.bot_token``:
    SLACK_BOT_TOKEN)."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=True)

    # Storage
    frontdoor_database_url: str = "sqlite:///frontdoor.db"
    # NLU
    frontdoor_nlu_url: str | None = None
    frontdoor_nlu_port: Annotated[int, Field(ge=1, le=65535)] = 5005
    frontdoor_nlu_timeout: float = 5.0
    frontdoor_nlu_threshold: float = 0.40  # chosen on the NLU development sets (nlu/README.md)
    frontdoor_cache_dir: Path = Field(default_factory=default_cache_dir)
    # Brand and rules
    frontdoor_brand: str = "Ceylexo"
    frontdoor_case_prefix: str = "CX"
    frontdoor_daily_case_cap: int = 5
    frontdoor_keep_open_max: int = 2
    frontdoor_keep_open_days: int = 7
    frontdoor_first_response_hours: int = 24
    frontdoor_first_response_urgent_hours: int = 4
    frontdoor_evaluation_days: int = 4
    frontdoor_max_text_chars: int = 4000
    frontdoor_max_attachment_mb: int = 20
    frontdoor_reopen_days: int = 30
    # Delivery guarantees
    frontdoor_inbound_lease_seconds: float = 30.0
    frontdoor_knowledge_base: Path | None = None
    # The scheduler (FRONTDOOR_*), Telegram (TELEGRAM_*) and Slack (SLACK_*), each read from
    # its variables by `_GroupVariables`.
    scheduler: SchedulerSettings = Field(default_factory=lambda: SchedulerSettings())
    telegram: TelegramSettings = Field(default_factory=lambda: TelegramSettings())
    slack: SlackSettings = Field(default_factory=lambda: SlackSettings())
    # HTTP server
    # The public https address Slack and Telegram reach this server at (manifest, setup).
    frontdoor_public_url: str | None = None
    frontdoor_host: str = "127.0.0.1"
    frontdoor_port: Port = 8080
    # Seller portal: on, it needs FRONTDOOR_PUBLIC_URL and a session secret of 32+
    # characters (`frontdoor serve` refuses to start without them).
    frontdoor_portal: bool = False
    frontdoor_session_secret: str | None = None
    frontdoor_session_hours: float = 12
    # Web chat lines older than this are deleted by the scheduler (0 keeps them for ever).
    frontdoor_web_chat_retention_days: float = 90
    # Claims of inbound events (their redelivery guard) are forgotten after this (0: never);
    # platforms redeliver within a day, so a week is far past any redelivery. At least the
    # web chat recovery's look-back (a day): see `_claims_outlive_the_web_chat_recovery`.
    frontdoor_claim_retention_days: float = 7
    # Email notifications: off while FRONTDOOR_SMTP_URL is unset.
    frontdoor_smtp_url: str | None = None
    frontdoor_email_from: str | None = None
    frontdoor_email_unread_minutes: float = 30
    frontdoor_email_link_hours: float = 24
    # Outbox
    frontdoor_outbox_max_attempts: int = 8
    # Worker threads for blocking (database) work; 0 takes Python's default (CPUs + 4, at
    # most 32). Deliveries and agents' replies go ahead of sellers' new turns in their queue
    # (bot.urgent_work); false gives back asyncio's first-come-first-served executor.
    frontdoor_worker_threads: Annotated[int, Field(ge=0)] = 0
    frontdoor_urgent_work_first: bool = True
    # Seller turns doing their database work at once in a process (0: no limit); the others
    # wait, in order, with their NLU answer already in hand (bot.engine).
    frontdoor_max_concurrent_turns: Annotated[int, Field(ge=0)] = 0

    @field_validator("frontdoor_claim_retention_days")
    @classmethod
    def _claims_outlive_the_web_chat_recovery(cls, days: float) -> float:
        """Refused rather than raised quietly: the web chat recovery takes a line of the last
        day without a done claim for unprocessed, so a claim forgotten sooner would have a
        processed line answered again; the operator's number is never silently changed."""
        shortest = RECOVERY_MAX_AGE / timedelta(days=1)
        if 0 < days < shortest:
            raise ValueError(
                f"FRONTDOOR_CLAIM_RETENTION_DAYS={days:g} is shorter than the {shortest:g} "
                "day(s) the web chat recovery looks back for unprocessed lines: processed "
                f"lines would be processed again. Set it to {shortest:g} or more (0: never "
                "forget)")
        return days

    @model_validator(mode="before")
    @classmethod
    def _drop_flat_names(cls, data: Any) -> Any:
        """A group's variables under their flat names (`.env` passes them on as extras) were
        read by `_GroupVariables` already."""
        if isinstance(data, dict):
            flat = {prefix + name for prefix, model in GROUPS.values() for name in model.model_fields}
            data = {key: value for key, value in data.items() if key.lower() not in flat}
        return data

    @classmethod
    def settings_customise_sources(
        cls, settings_cls: type[BaseSettings], init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource, dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Keywords win over the environment, which wins over `.env`, for the groups'
        # variables as for the others; ``Settings(slack_bot_token=...)`` works as a keyword.
        return (_GroupVariables(settings_cls, init_settings), init_settings,
                _GroupVariables(settings_cls, env_settings), env_settings,
                _GroupVariables(settings_cls, dotenv_settings), dotenv_settings,
                file_secret_settings)

    @classmethod
    def variable_names(cls) -> list[str]:
        """Every environment variable Frontdoor reads (the README's table)."""
        names = [name for name in cls.model_fields if name not in GROUPS]
        names += [prefix + name for prefix, model in GROUPS.values()
                  for name in model.model_fields]
        return [name.upper() for name in names]

    def by_variable_name(self) -> SimpleNamespace:
        """The settings under their variables' names (lower case), for readers that take
        them so (`bot.sweep_config.SchedulerConfig.from_settings`)."""
        values = {name: getattr(self, name) for name in type(self).model_fields
                  if name not in GROUPS}
        for group, (prefix, model) in GROUPS.items():
            part = getattr(self, group)
            values.update({prefix + name: getattr(part, name) for name in model.model_fields})
        return SimpleNamespace(**values)


def load_settings() -> Settings:
    """Read the settings from the environment (and `.env`); ``SettingsError`` names the
    variables that are wrong."""
    try:
        return Settings()
    except ValidationError as exc:
        raise SettingsError.from_validation(exc) from None
