"""The issue 11 transcripts in the console chat itself (adapters.console: typed lines, numbered
choices, the outbox delivered to the terminal): an answer to an agent lands in the agent's
case, a rating typed in words is the rating, and a bare "4" is filed nowhere. On SQLite and
PostgreSQL."""

from __future__ import annotations

import pytest

from bot.cases import CaseService
from bot.clock import ManualClock
from bot.engine import Engine
from bot.relay import Relay
from bot.texts import t
from storage.database import Database
from storage.uow import SqlUnitOfWorkFactory
from tests.unit.chat_harness import make_engine
from tests.unit.test_engine_console import Terminal

BANK = "my disbursement of last week never reached my bank account"
PARCEL = "my order 123-1234567-1234567 never arrived, the buyer is waiting since Monday"


@pytest.fixture
def engine(service: CaseService, uow_factory: SqlUnitOfWorkFactory, relay: Relay,
           clock: ManualClock) -> Engine:
    return make_engine(service, uow_factory, relay, clock)


async def test_the_console_transcripts_of_the_issue(db: Database, service: CaseService,
                                                    engine: Engine, relay: Relay,
                                                    clock: ManualClock) -> None:
    service.create_invitation("Console Shop", code="SHOP-2026")
    term = Terminal(db, engine, relay, clock, "term1")

    def agent_asks() -> None:  # `frontdoor case reply CX-000001 "..."` in another terminal
        service.agent_reply("CX-000001", "agent7", "Please update your bank details and tell me")

    def agent_resolves() -> None:
        service.change_status("CX-000002", "resolved", "agent", "agent7")

    text = await term.run(
        "SHOP-2026",
        BANK, "2", "1", "1",                 # not solved by the article; no order; open it
        PARCEL, "1",                         # another issue: its own case
        agent_asks, term.shows("Please update your bank details"),
        "done, updated the bank details just now",
        agent_resolves, term.shows(t("evaluate.ask", number="CX-000002")),
        "terrible, nobody even answered me",
        "4",
        "/quit")

    assert "Opened CX-000001" in text and "Opened CX-000002" in text
    after_agent = text[text.index("Please update your bank details"):]
    assert "Added to CX-000001" in after_agent
    assert [m.text for m in service.get_case("CX-000001").messages][-1] == (
        "done, updated the bank details just now")
    after_rating = text[text.index(t("evaluate.ask", number="CX-000002")):]
    assert "your feedback on CX-000002" in after_rating
    assert "not sure what \"4\" means" in after_rating
    evaluation = service.get_case("CX-000002").evaluation
    assert evaluation is not None and evaluation.level == "disappointing"
    assert [m.text for m in service.get_case("CX-000002").messages] == [PARCEL]
    assert "4" not in [m.text for m in service.get_case("CX-000001").messages]
