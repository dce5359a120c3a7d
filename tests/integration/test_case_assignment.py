"""Issue 12: an agent takes a case, and the first response and the resolution are credited to
the agents who gave them; the card, the thread and the daily digest show it (SQLite and
PostgreSQL). The Slack buttons are in test_serve_case_controls.py, the CLI in test_cli_assign.py.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot import outbox as ob
from bot.case_rules.assignment import credit_counts
from bot.cases import CaseService
from bot.clock import ManualClock
from bot.errors import InvalidInput, InvalidTransition
from storage.uow import SqlUnitOfWorkFactory
from tests.integration.case_rules_support import outbox
from tests.integration.sweep_support import channel_posts, events, open_case
from tests.integration.test_scheduler_digest import NINE, make


def last_card(uow_factory: SqlUnitOfWorkFactory) -> dict[str, object]:
    return dict(outbox(uow_factory, ob.CASE_PARENT)[-1].payload["card"])


def thread_texts(uow_factory: SqlUnitOfWorkFactory) -> list[str]:
    return [str(r.payload["text"]) for r in outbox(uow_factory, ob.THREAD_POST)]


def test_assign_shows_on_the_card_and_in_the_thread(
        service: CaseService, uow_factory: SqlUnitOfWorkFactory) -> None:
    _, case = open_case(service)

    assigned = service.assign(case.number, "U0AGENT01", "grace", "agent", "U0AGENT01")

    assert (assigned.assignee_ref, assigned.assignee_name) == ("U0AGENT01", "grace")
    card = last_card(uow_factory)
    assert (card["assignee_ref"], card["assignee_name"]) == ("U0AGENT01", "grace")
    assert "👤 Assigned to grace by U0AGENT01" in thread_texts(uow_factory)
    [event] = events(uow_factory, case.id, "assignee")
    assert (event.from_value, event.to_value, event.actor_ref) == (None, "U0AGENT01", "U0AGENT01")

    # Taking it again changes nothing; another agent takes it over; then nobody has it.
    service.assign(case.number, "U0AGENT01", "grace", "agent", "U0AGENT01")
    assert len(events(uow_factory, case.id, "assignee")) == 1
    service.assign(case.number, "ann", None, "agent", "cli")
    cleared = service.assign(case.number, None, None, "agent", "cli")
    assert cleared.assignee_ref is None and cleared.assignee_name is None
    assert [(e.from_value, e.to_value) for e in events(uow_factory, case.id, "assignee")] == [
        (None, "U0AGENT01"), ("U0AGENT01", "ann"), ("ann", None)]
    assert "👤 Unassigned by cli" in thread_texts(uow_factory)
    assert service.get_case(case.number).case.assignee_ref is None


@pytest.mark.parametrize("final", ["closed", "declined"])
def test_nobody_takes_a_closed_or_declined_case(service: CaseService, final: str) -> None:
    _, case = open_case(service)
    service.change_status(case.number, final, "agent", "ann", "not ours")
    with pytest.raises(InvalidTransition, match=final):
        service.assign(case.number, "ann")


def test_an_empty_agent_is_refused(service: CaseService) -> None:
    _, case = open_case(service)
    with pytest.raises(InvalidInput):
        service.assign(case.number, "  ")


def test_first_response_and_resolution_are_credited(
        service: CaseService, uow_factory: SqlUnitOfWorkFactory) -> None:
    _, case = open_case(service)
    service.agent_reply(case.number, "U0AGENT01", "Looking into it")
    service.agent_reply(case.number, "U0AGENT02", "Found it")  # not the first response
    resolved = service.change_status(case.number, "resolved", "agent", "U0AGENT02")

    assert (resolved.first_response_by, resolved.resolved_by) == ("U0AGENT01", "U0AGENT02")
    card = last_card(uow_factory)
    assert (card["first_response_by"], card["resolved_by"]) == ("U0AGENT01", "U0AGENT02")

    # Back under investigation, the resolution no longer stands; a resolution by the system
    # (not an agent) credits nobody.
    again = service.change_status(case.number, "investigating", "agent", "U0AGENT01")
    assert again.resolved_by is None and again.first_response_by == "U0AGENT01"
    by_system = service.change_status(case.number, "resolved", "system", None)
    assert by_system.resolved_by is None


def test_credit_counts() -> None:
    assert credit_counts(["b", None, "a", "b", "c", "a", "b"]) == [("b", 3), ("a", 2), ("c", 1)]
    assert credit_counts([None, None]) == []


def test_digest_shows_assignees_first_responders_and_resolvers(
        uow_factory: SqlUnitOfWorkFactory, clock: ManualClock) -> None:
    service, sweeper = make(uow_factory, clock)
    clock.set(NINE - timedelta(hours=3))
    _, taken = open_case(service, "1", "payment")
    service.assign(taken.number, "U0AGENT01", "grace", "agent", "U0AGENT01")
    service.agent_reply(taken.number, "ann", "On it")
    _, waiting = open_case(service, "2", "payment")
    for user, resolver in (("3", "U0AGENT02"), ("4", "U0AGENT02"), ("5", "ann"), ("6", None)):
        seller_id, done = open_case(service, user, "payment")
        service.change_status(done.number, "resolved", "agent", resolver)
        service.evaluate(seller_id, done.number, "like")
    clock.set(NINE)

    sweeper.digest()

    pay = next(p for p in channel_posts(uow_factory) if p["channel"] == "C_PAY")
    open_block = pay["blocks"][2]["text"]["text"]
    taken_line = next(line for line in open_block.split("\n") if taken.number in line)
    waiting_line = next(line for line in open_block.split("\n") if waiting.number in line)
    assert taken_line.endswith(" · 👤 <@U0AGENT01> · first reply ann")
    assert waiting_line.endswith(" · 👤 nobody yet")
    ratings = pay["blocks"][-1]["text"]["text"].split("\n")
    assert ratings[1] == "4 Worthy of a Like · 0 So-so · 0 Very Disappointing"
    assert ratings[2] == "Resolved by: <@U0AGENT02> 2 · ann 1"
