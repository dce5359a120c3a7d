"""/link: one seller on several channels (issue 12, invites)."""

from __future__ import annotations

import re
from datetime import timedelta

from bot.clock import ManualClock
from bot.engine import Engine
from storage.uow import SqlUnitOfWorkFactory
from tests.unit import chat_harness
from tests.unit.chat_harness import Chat

engine = chat_harness.engine
chat = chat_harness.chat


def link_code(text: str) -> str:
    found = re.search(r"/link (LINK-\S+)", text)
    assert found, text
    return found.group(1)


async def open_case(chat: Chat) -> None:
    await chat.say("my order 123-1234567-1234567 never arrived")
    await chat.say("The parcel has been stuck in transit for three weeks now.")
    await chat.press("Open the case")
    chat.expect("Opened CX-000001")


async def test_a_slack_dm_joins_the_telegram_seller(
        chat: Chat, engine: Engine, uow_factory: SqlUnitOfWorkFactory) -> None:
    await open_case(chat)
    await chat.command("link")
    chat.expect("works once, for 15 minutes")
    code = link_code(chat.text)

    slack = Chat(engine, uow_factory, user="U0SELLER1", channel="slack", name="Alice")
    await slack.say(f"link {code.lower()}")  # typed: Slack keeps / commands for itself
    slack.expect("Linked! This chat now belongs to Acme Ltd")
    await slack.say("any update?")
    slack.expect("CX-000001")  # the same seller's case, read from the other channel

    # Single use: a third chat cannot take the same code.
    other = Chat(engine, uow_factory, user="777", name="Mallory")
    await other.command("link", code)
    other.expect("doesn't work")
    await other.say("any update?")
    other.expect("invitation only")
    # A chat that already belongs to a seller is not moved.
    await slack.command("link", code)
    slack.expect("already belongs to Acme Ltd")


async def test_link_codes_expire(chat: Chat, engine: Engine, uow_factory: SqlUnitOfWorkFactory,
                                 clock: ManualClock) -> None:
    await chat.command("link")
    code = link_code(chat.text)
    clock.advance(timedelta(minutes=16))
    late = Chat(engine, uow_factory, user="778", name="Late")
    await late.command("link", code)
    late.expect("doesn't work")
    await chat.command("link")
    fresh = link_code(chat.text)
    assert fresh != code
    await late.command("link", fresh)
    late.expect("Linked!")


async def test_link_without_an_account(engine: Engine, uow_factory: SqlUnitOfWorkFactory) -> None:
    stranger = Chat(engine, uow_factory, user="779", name="Nobody")
    await stranger.command("link")
    stranger.expect("send /link in a chat where you are already registered")
