"""The configuration contract (the README's table): environment variables, and a `.env` file."""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.labels import CASE_TYPES


def default_cache_dir() -> Path:
    """Per-user cache (XDG): the Rasa environment and trained models live here."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "frontdoor"


class Settings(BaseSettings):
    """Every setting, with its default. Field names map to upper-case environment variables."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=True)

    # Storage
    frontdoor_database_url: str = "sqlite:///frontdoor.db"
    # NLU
    frontdoor_nlu_url: str | None = None
    frontdoor_nlu_port: int = 5005
    frontdoor_nlu_timeout: float = 5.0
    frontdoor_nlu_threshold: float = 0.55
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
    # Scheduler
    frontdoor_reminder_hours: str = "24,72"
    frontdoor_pending_auto_close_days: int = 7
    frontdoor_resolved_auto_close_days: int = 7
    frontdoor_first_response_warning_ratio: float = 0.75
    frontdoor_digest_time: str = "09:00"
    frontdoor_digest_timezone: str = "Europe/London"
    frontdoor_digest_max_items: int = 15
    frontdoor_digest_catch_up_hours: float = 24
    frontdoor_sweep_interval_seconds: float = 60
    frontdoor_sweep_batch_size: int = 500
    frontdoor_knowledge_base: Path | None = None
    # Telegram
    telegram_bot_token: str | None = None
    telegram_api_base_url: str = "https://api.telegram.org/bot"
    telegram_webhook_secret: str | None = None
    telegram_mode: str = "webhook"  # webhook | polling
    telegram_webhook_url: str | None = None  # set: registered with Telegram on start
    # Slack
    slack_bot_token: str | None = None
    slack_signing_secret: str | None = None
    slack_app_token: str | None = None
    slack_api_base_url: str = "https://slack.com/api/"
    slack_support_channel: str | None = None
    # Where requests for an invitation go, with Approve / Decline (unset: the support channel).
    slack_invites_channel: str | None = None
    # SLACK_CHANNEL_<CASE_TYPE>: one field per case type of the fixed label set (bot/labels.py),
    # so they are read from `.env` as well as from the environment, like every other setting.
    slack_channel_account_health: str | None = None
    slack_channel_account_access: str | None = None
    slack_channel_registration: str | None = None
    slack_channel_listing: str | None = None
    slack_channel_order: str | None = None
    slack_channel_payment: str | None = None
    slack_channel_shipping: str | None = None
    slack_channel_inventory: str | None = None
    slack_channel_policy: str | None = None
    slack_channel_advertising: str | None = None
    # Hosts the bot token may be sent to, to download files agents share (comma-separated).
    slack_file_hosts: str = "files.slack.com"
    slack_note_prefix: str = "note:"
    slack_link_base: str = "https://slack.com"
    # HTTP server
    # The public https address Slack and Telegram reach this server at (manifest, setup).
    frontdoor_public_url: str | None = None
    frontdoor_host: str = "127.0.0.1"
    frontdoor_port: int = 8080
    # Seller portal (issue 15): on, it needs FRONTDOOR_PUBLIC_URL and a session secret of 32+
    # characters (`frontdoor serve` refuses to start without them).
    frontdoor_portal: bool = False
    frontdoor_session_secret: str | None = None
    frontdoor_session_hours: float = 12
    # Outbox
    frontdoor_outbox_max_attempts: int = 8

    def slack_channel_for(self, case_type: str | None) -> str | None:
        """SLACK_CHANNEL_<CASE_TYPE> if set, else the support channel."""
        if case_type and case_type in CASE_TYPES:
            specific: str | None = getattr(self, f"slack_channel_{case_type}")
            if specific:
                return specific
        return self.slack_support_channel


def load_settings() -> Settings:
    """Read the settings from the environment (and `.env`)."""
    return Settings()
