"""Greetings, thanks, help, out-of-scope, commands."""

from __future__ import annotations

from bot.cases import CaseService
from tests.unit import chat_harness
from tests.unit.chat_harness import Chat

# Fixtures shared by the conversation tests.
chat = chat_harness.chat
engine = chat_harness.engine


async def test_greet_thank_goodbye(chat: Chat) -> None:
    await chat.say("hello there")
    chat.expect("Hi Acme Ltd!")
    chat.expect_buttons("New case", "My cases")
    await chat.say("thanks!")
    chat.expect("You're welcome")
    await chat.say("goodbye")
    chat.expect("Bye")


async def test_help_and_commands(chat: Chat) -> None:
    await chat.say("help me")
    chat.expect("/new", "/cases", "CX-000123")
    await chat.command("help")
    chat.expect("/case CX-000123")
    await chat.command("frobnicate")
    chat.expect("I don't know /frobnicate", "/new", "/cases", "/help")
    await chat.command("start")
    chat.expect("Welcome back")
    await chat.command("cancel")
    chat.expect("nothing to cancel")


async def test_out_of_scope_is_redirected(chat: Chat, service: CaseService) -> None:
    await chat.say("what's the weather")
    chat.expect("I can only help with selling on Ceylexo")
    await chat.say("tell me a joke")
    chat.expect("I can only help")
    assert service.search_cases() == []


async def test_yes_out_of_context(chat: Chat) -> None:
    await chat.say("yes")
    chat.expect("not waiting for a yes or no")


async def test_buttons_by_number(chat: Chat) -> None:
    await chat.say("hello")
    await chat.say("2")  # "My cases"
    chat.expect("no active cases")
