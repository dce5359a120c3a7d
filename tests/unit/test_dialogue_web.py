"""/web and the "View in browser" button: the chat hands out one-time portal login links."""

from __future__ import annotations

import re

import pytest

from bot.cases import CaseService
from bot.clock import ManualClock
from bot.engine import Engine
from bot.portal_login import LoginGranted, LoginRefused, PortalLogin
from bot.relay import Relay
from storage.database import Database
from storage.portal_logins import SqlPortalLoginStore
from storage.uow import SqlUnitOfWorkFactory
from tests.unit import chat_harness
from tests.unit.chat_harness import Chat, make_engine, register

chat = chat_harness.chat
URL = "https://support.example.com"


@pytest.fixture
def links(db: Database, clock: ManualClock) -> PortalLogin:
    return PortalLogin(URL, "k" * 40, SqlPortalLoginStore(db), clock)


@pytest.fixture
def engine(service: CaseService, uow_factory: SqlUnitOfWorkFactory, relay: Relay,
           clock: ManualClock, links: PortalLogin) -> Engine:
    return make_engine(service, uow_factory, relay, clock, portal_links=links)


def _link(text: str) -> str:
    found = re.search(rf"{URL}/portal/login/(\S+)", text)
    assert found, text
    return found.group(1)


async def test_web_sends_a_one_time_link_for_the_seller(chat: Chat, links: PortalLogin,
                                                        service: CaseService) -> None:
    await chat.command("web")
    chat.expect("works once, within 15 minutes")
    token = _link(chat.text)
    seller = service.identify(chat.channel, chat.user, chat.user, chat.name)[1]
    assert seller is not None
    assert links.redeem(token) == LoginGranted(seller.id, None)
    assert links.redeem(token) == LoginRefused("used")


async def test_view_in_browser_on_the_list_and_a_case_opens_that_case(
        chat: Chat, links: PortalLogin) -> None:
    await chat.say("my order 123-1234567-1234567 never arrived")
    await chat.say("The parcel has been stuck in transit for three weeks now.")
    await chat.press("Open the case")
    await chat.command("cases")
    chat.expect_buttons("🌐 View in browser")
    await chat.command("case", "CX-000001")
    chat.expect_buttons("🌐 View in browser")
    await chat.press("🌐 View in browser")
    chat.expect("CX-000001 in the browser")
    granted = links.redeem(_link(chat.text))
    assert isinstance(granted, LoginGranted) and granted.case_number == "CX-000001"


async def test_another_sellers_case_number_gets_a_link_to_the_list(
        chat: Chat, engine: Engine, uow_factory: SqlUnitOfWorkFactory, service: CaseService,
        links: PortalLogin) -> None:
    await chat.say("my order 123-1234567-1234567 never arrived")
    await chat.say("The parcel has been stuck in transit for three weeks now.")
    await chat.press("Open the case")
    other = Chat(engine, uow_factory, user="222", name="Bob")
    register(service, other, name="Other Shop")
    await other.command("web", "CX-000001")
    granted = links.redeem(_link(other.text))
    assert isinstance(granted, LoginGranted) and granted.case_number is None


async def test_without_the_portal_web_says_so_and_no_button_is_offered(
        service: CaseService, uow_factory: SqlUnitOfWorkFactory, relay: Relay,
        clock: ManualClock) -> None:
    plain = Chat(make_engine(service, uow_factory, relay, clock), uow_factory)
    register(service, plain)
    await plain.command("web")
    plain.expect("isn't available here")
    await plain.command("cases")
    assert "🌐 View in browser" not in plain.buttons


async def test_help_names_web_with_the_portal_on(chat: Chat) -> None:
    await chat.command("help")
    chat.expect("/web: open your cases in a browser")
