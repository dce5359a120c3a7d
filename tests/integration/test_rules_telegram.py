"""Rules 1 and 4 without holes through the real Telegram webhook (issue 11): the real server,
python-telegram-bot and the Bot API stand-in, on SQLite and PostgreSQL. Two suppressed
listings become two cases, a declined one is refused when raised again in other words, and a
case closed too long ago offers a new case that links it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import update

from storage.database import Database
from storage.models import CaseRow
from tests.integration.serve_relay_support import Served, TelegramSeller, serving


@pytest.fixture
async def served(db: Database) -> AsyncIterator[Served]:
    async with serving(db) as running:
        # As the Rasa model classifies these texts.
        running.classifier.rules.update({"suppressed": "listing", "reopen": "reopen_case"})
        yield running


async def _new_listing_case(seller: TelegramSeller, text: str) -> None:
    await seller.say("/new", expect="What is the new case about?")
    await seller.say(text, expect="Did this solve it?")
    await seller.press("No, I still need help", expect="I")


async def test_listings_declined_and_reopening_through_telegram(served: Served) -> None:
    seller = TelegramSeller(served)
    await seller.register()
    cases = served.services.cases

    await seller.say("my blue mug listing is suppressed, I fixed the photos already",
                     expect="Did this solve it?")
    await seller.press("No, I still need help", expect="About: blue mug suppressed")
    await seller.press("Open the case", expect="Opened CX-000001 (Listings · blue mug")

    # A second suppressed listing: the seller sees the open one and chooses.
    await _new_listing_case(seller, "the red kettle listing is suppressed as well")
    texts = served.telegram.sent_texts(seller.chat)
    assert any("You already have Listings cases open:" in t and "CX-000001" in t for t in texts)
    await seller.press("It's a different issue", expect="About: red kettle suppressed")
    await seller.press("Open the case", expect="Opened CX-000002 (Listings · red kettle")
    second = cases.get_case("CX-000002").case
    assert (second.case_type, second.subject) == ("listing", "red kettle suppressed")

    # Declined: the same listing in other words is refused, with the reason, once.
    cases.change_status("CX-000002", "declined", reason="restricted product")
    await seller.say("/new", expect="What is the new case about?")
    await seller.say("red kettle still suppressed, please check it again",
                     expect="Did this solve it?")
    await seller.press("No, I still need help",
                       expect="CX-000002 on this issue was declined with no further action")
    await seller.say("thanks", expect="")  # a later answer: any duplicate came before it
    refusals = [t for t in served.telegram.sent_texts(seller.chat) if "on this issue was declined" in t]
    assert len(refusals) == 1 and "restricted product" in refusals[0]
    assert len(cases.search_cases("all")) == 2

    # Closed 40 days ago: too old to reopen; a new case links it.
    cases.change_status("CX-000001", "closed")
    closed_at = cases.get_case("CX-000001").case.closed_at
    assert closed_at is not None
    with served.services.database.sessions() as session:
        session.execute(update(CaseRow).where(CaseRow.number == "CX-000001").values(
            closed_at=closed_at - timedelta(days=40)))
        session.commit()
    await seller.say("please reopen CX-000001",
                     expect="CX-000001 was closed more than 30 days ago")
    await seller.press("New case about CX-000001", expect="What happened?")
    await seller.say("The blue mug listing got suppressed again after the price change.",
                     expect="Follows up: CX-000001")
    await seller.press("Open the case", expect="Opened CX-000003")
    third = cases.get_case("CX-000003")
    assert third.case.subject == cases.get_case("CX-000001").case.subject
    assert ("follows", "CX-000001") in [(e.kind, e.from_value) for e in third.events]
