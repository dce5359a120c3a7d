"""/help offers /email where this deployment sends mail, and only there (issue 15)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from bot.case_rules.base import CaseRules
from tests.unit import chat_harness
from tests.unit.chat_harness import Chat

chat = chat_harness.chat
engine = chat_harness.engine


@pytest.fixture(params=[True, False], ids=["mail-on", "mail-off"])
def rules(request: pytest.FixtureRequest) -> CaseRules:
    return replace(CaseRules(), email_notifications=request.param)


async def test_help_names_email_only_when_mail_can_be_sent(chat: Chat, rules: CaseRules) -> None:
    await chat.command("help")
    chat.expect("/new", "/cases", "/link")
    assert ("/email ADDRESS" in chat.text) is rules.email_notifications, chat.text
    assert "/web" not in chat.text  # no portal in this harness: /web would only say so
    chat.expect_buttons("New case", "My cases")
    if rules.email_notifications:
        # What help promises works: /email asks for the address.
        await chat.command("email")
        chat.expect("/email you@example.com")
