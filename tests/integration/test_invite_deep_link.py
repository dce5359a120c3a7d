"""The invitation a newcomer's operator hands out on Telegram: `frontdoor invite create` asks
Telegram who the bot is (getMe) and prints the deep link; the seller taps it, Telegram sends
``/start CODE`` through the real webhook, and they are registered. SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import re

import pytest
from typer.testing import CliRunner

from frontdoor.cli import app
from storage.database import Database
from tests.integration.serve_relay_support import TELEGRAM_TOKEN, TelegramSeller, serving

runner = CliRunner()


async def test_the_printed_deep_link_registers_the_seller_on_telegram(
        db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    async with serving(db) as served:
        monkeypatch.setenv("FRONTDOOR_DATABASE_URL", db.url)
        monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TELEGRAM_TOKEN)
        monkeypatch.setenv("TELEGRAM_API_BASE_URL", served.telegram.base_url)
        created = await asyncio.to_thread(runner.invoke, app,
                                          ["invite", "create", "Nina's Crafts"])
        assert created.exit_code == 0, created.output
        link = re.search(r"Telegram: https://t\.me/(\w+)\?start=([A-Z0-9-]+)$", created.output,
                         re.MULTILINE)
        assert link is not None, created.output
        assert link.group(1) == served.telegram.bot_username
        assert created.output.startswith(link.group(2))

        # Tapping the link, then "Start": Telegram sends the bot "/start CODE".
        nina = TelegramSeller(served, name="Nina")
        await nina.say(f"/start {link.group(2)}", expect="You're registered as Nina's Crafts")
        await nina.say("hello", expect="Nina's Crafts")
