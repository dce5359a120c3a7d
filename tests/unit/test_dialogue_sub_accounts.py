"""A main account invites a sub-account from the chat (issue 12, invites; rule 7)."""

from __future__ import annotations

import re

from bot.cases import CaseService
from bot.engine import Engine
from storage.uow import SqlUnitOfWorkFactory
from tests.unit import chat_harness
from tests.unit.chat_harness import Chat

engine = chat_harness.engine
chat = chat_harness.chat


def code_in(text: str) -> str:
    found = re.search(r"/start (\S+)", text)
    assert found, text
    return found.group(1)


async def test_main_account_invites_a_sub_account(
        chat: Chat, engine: Engine, uow_factory: SqlUnitOfWorkFactory,
        service: CaseService) -> None:
    await chat.command("invite")
    chat.expect("/invite Warehouse team")
    await chat.command("invite", "  Acme   Warehouse ")
    chat.expect("invitation for Acme Warehouse", "works once")
    code = code_in(chat.text)

    await chat.say("my order 123-1234567-1234567 never arrived")
    await chat.say("The parcel has been stuck in transit for three weeks now.")
    await chat.press("Open the case")
    chat.expect("Opened")

    colleague = Chat(engine, uow_factory, user="555", name="Carl")
    await colleague.command("start", code)
    colleague.expect("You're registered as Acme Warehouse")
    await colleague.say("any update?")
    colleague.expect("You have no active cases")  # the main account's case is not theirs
    [main_case] = service.search_cases()
    _, colleague_seller = service.identify("telegram", "555")
    assert colleague_seller is not None and not colleague_seller.is_main
    assert main_case.seller_id != colleague_seller.id

    # A sub-account cannot invite further, and the code is single use.
    await colleague.command("invite", "Someone Else")
    colleague.expect("Only your business's main account")
    stranger = Chat(engine, uow_factory, user="556", name="Dora")
    await stranger.command("start", code)
    stranger.expect("doesn't work")


async def test_help_lists_invite_and_link_and_offers_the_invite_button(
        chat: Chat, engine: Engine, uow_factory: SqlUnitOfWorkFactory) -> None:
    await chat.command("help")
    chat.expect("/link", "/invite NAME")
    chat.expect_buttons("Invite a sub-account")

    await chat.press("Invite a sub-account")
    chat.expect("colleague's name")
    await chat.say("Night shift")
    chat.expect("invitation for Night shift", "works once")
    colleague = Chat(engine, uow_factory, user="557", name="Eve")
    await colleague.command("start", code_in(chat.text))
    colleague.expect("You're registered as Night shift")

    # A sub-account's help has no such button, and the button itself is refused to it.
    await colleague.command("help")
    colleague.expect("/link")
    assert "Invite a sub-account" not in colleague.buttons
    await colleague.send(button="invite")
    colleague.expect("Only your business's main account")
