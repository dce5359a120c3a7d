"""Invitation-only registration (rule 7)."""

from __future__ import annotations

from bot.cases import CaseService
from tests.unit import chat_harness
from tests.unit.chat_harness import Chat

# Fixtures shared by the conversation tests.
engine = chat_harness.engine
guest = chat_harness.guest


async def test_unknown_user_is_told_about_invitations(guest: Chat, service: CaseService) -> None:
    await guest.say("hello, my order never arrived")
    guest.expect("pre-launch", "invitation only")
    guest.expect_buttons("I have a code", "Request an invitation")
    assert service.search_cases() == []


async def test_invitation_code_typed(guest: Chat, service: CaseService) -> None:
    inv = service.create_invitation("Acme Ltd", code="ACME-2026")
    await guest.say("hi")
    await guest.press("I have a code")
    guest.expect("send your invitation code")
    await guest.say(inv.code.lower())
    guest.expect("You're registered as Acme Ltd")
    await guest.say("any update?")
    guest.expect("You have no active cases")


async def test_code_without_pressing_anything(guest: Chat, service: CaseService) -> None:
    service.create_invitation("Acme Ltd", code="ACME-2026")
    await guest.say("ACME-2026")
    guest.expect("You're registered as Acme Ltd")


async def test_deep_link_start(guest: Chat, service: CaseService) -> None:
    service.create_invitation("Acme Ltd", code="DEEP7LINK")
    await guest.command("start", "DEEP7LINK")
    guest.expect("You're registered as Acme Ltd")
    await guest.command("start", "DEEP7LINK")
    guest.expect("already registered")


async def test_bad_and_used_codes(guest: Chat, service: CaseService) -> None:
    await guest.command("start", "NOPE-1234")
    guest.expect("doesn't work")
    inv = service.create_invitation("Acme Ltd")
    other = Chat(guest.engine, guest.uow_factory, user="901")
    await other.command("start", inv.code)
    await guest.say(inv.code)
    guest.expect("doesn't work")


async def test_request_an_invitation(guest: Chat, service: CaseService) -> None:
    await guest.say("hi")
    await guest.press("Request an invitation")
    guest.expect("business name")
    await guest.say("Blue Kettle GmbH, we sell tea kettles in Germany")
    guest.expect("Your request is with the Ceylexo team")
    requests = service.invitation_requests()
    assert len(requests) == 1 and "Blue Kettle" in str(requests[0])
    await guest.say("hello")
    await guest.press("Request an invitation")
    guest.expect("already with our team")


async def test_unregistered_commands_and_buttons(guest: Chat) -> None:
    await guest.command("cases")
    guest.expect("invitation only")
    await guest.send(button="ok", text="Open the case")
    guest.expect("invitation only")
