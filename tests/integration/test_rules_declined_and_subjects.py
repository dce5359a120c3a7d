"""Rules 1 and 4 without holes (issue 11), on SQLite and PostgreSQL: issue subjects for types
without an order, declined is final on every path (untyped, agent type change, retyped
words), reopening outside the daily cap and within FRONTDOOR_REOPEN_DAYS, and simultaneous
identical requests under real concurrency."""

from __future__ import annotations

import os

import pytest
from sqlalchemy import select, text

from bot import domain as d
from bot.cases import CaseRules, CaseService
from bot.clock import ManualClock
from bot.errors import DailyCapReached, DeclinedFinal, InvalidTransition, ReopenWindowPassed
from bot.subjects import same_subject, subject_of
from frontdoor.cli import app
from frontdoor.settings import load_settings
from frontdoor.wiring import build_services
from storage.database import Database
from storage.migrate import upgrade
from storage.models import CaseRow
from storage.uow import SqlUnitOfWorkFactory
from tests.integration import test_cli as cli_tests
from tests.integration.case_rules_support import make_seller, outbox
from tests.integration.test_concurrency import run_together

ORDER = "123-1234567-1234567"
ORDER2 = "240518K7QW93XZ"


# Subjects --------------------------------------------------------------------------------------
@pytest.mark.parametrize("text, key", [
    ("ASIN b07xj8c8f5 is suppressed", "asin b07xj8c8f5"),
    ("my listing B07XJ8C8F5 got suppressed", "asin b07xj8c8f5"),
    ("SKU: MUG-BLUE-01 shows inactive", "sku mug-blue-01"),
    ("my blue mug listing is suppressed", "blue mug suppressed"),
    ("Hello team, my Blue Mugs listings are suppressed!!", "blue mug suppressed"),
    ("about CX-000004: the red kettle listing", "red kettle"),
    ("mine got suppressed", "suppressed"),
])
def test_subject_comes_from_an_identifier_or_the_words_that_matter(text: str, key: str) -> None:
    found = subject_of(text)
    assert found is not None and found.key == key


def test_nothing_that_tells_an_issue_apart_gives_no_subject() -> None:
    assert subject_of("hello, I have a problem with my listing please help") is None


@pytest.mark.parametrize("a, b, same", [
    ("bamboo cutting board removed policy", "look bamboo cutting board taken", True),
    ("blue mug suppressed", "red kettle suppressed", False),
    ("bamboo cutting board removed policy", "bamboo spoon set suppressed", False),
    ("asin b07xj8c8f5", "asin b07xj8c8f5", True),
    ("asin b07xj8c8f5", "asin b07xj8c8f6", False),
    (None, None, True),
    (None, "blue mug", False),
])
def test_same_subject(a: str | None, b: str | None, same: bool) -> None:
    assert same_subject(a, b) is same
    assert same_subject(b, a) is same


# Two issues of a type without an order ----------------------------------------------------------
def test_two_suppressed_listings_are_two_cases_that_keep_their_type(service: CaseService) -> None:
    _, seller = make_seller(service, "1")
    mug = service.open_case(seller.id, "listing", "my blue mug listing is suppressed")
    kettle = service.open_case(seller.id, "listing", "the red kettle listing is suppressed")
    assert mug.created and kettle.created
    assert {c.case_type for c in (mug.case, kettle.case)} == {"listing"}
    assert (mug.case.subject, kettle.case.subject) == ("blue mug suppressed",
                                                       "red kettle suppressed")
    assert mug.case.title == "Listings · blue mug suppressed"
    # The same listing again, in other words: the open case on it (rule 1).
    again = service.open_case(seller.id, "listing", "hi, blue mugs still suppressed")
    assert not again.created and again.case.number == mug.case.number
    assert [c.number for c in service.other_active_of_type(seller.id, "listing",
                                                           "red kettle suppressed")] == [
        mug.case.number]


def test_the_database_refuses_a_second_active_case_on_one_subject(
        service: CaseService, uow_factory: SqlUnitOfWorkFactory) -> None:
    _, seller = make_seller(service, "1")
    service.open_case(seller.id, "listing", "ASIN B07XJ8C8F5 suppressed")
    with uow_factory() as uow:
        rows = uow.session.scalars(select(CaseRow)).all()
        assert [(r.case_type, r.order_key, r.subject_key) for r in rows] == [
            ("listing", "", "asin b07xj8c8f5")]


def test_a_declined_case_without_an_order_blocks_only_its_own_subject(
        service: CaseService, clock: ManualClock) -> None:
    _, seller = make_seller(service, "1")
    declined = service.open_case(
        seller.id, "listing",
        "My listing for the bamboo cutting board was removed for a policy violation").case
    service.change_status(declined.number, "declined", reason="restricted product")
    clock.advance(hours=1)
    other = service.open_case(seller.id, "listing", "my blue mug listing is suppressed")
    assert other.created and other.case.case_type == "listing"
    for retyped in ("please look again at the bamboo cutting board listing that was taken down",
                    "bamboo cutting board removed AGAIN for policy"):
        with pytest.raises(DeclinedFinal, match="restricted product") as refused:
            service.open_case(seller.id, "listing", retyped)
        assert refused.value.details["number"] == declined.number
    with pytest.raises(DeclinedFinal):
        service.check_can_open(seller.id, "listing", None,
                               service.subject_for("listing", None, "bamboo cutting board"))


def test_an_identifier_subject_is_declined_exactly(service: CaseService) -> None:
    _, seller = make_seller(service, "1")
    case = service.open_case(seller.id, "listing", "ASIN B07XJ8C8F5 suppressed").case
    service.change_status(case.number, "declined", reason="brand gating")
    with pytest.raises(DeclinedFinal, match="brand gating"):
        service.open_case(seller.id, "listing", "please check b07xj8c8f5 again")
    assert service.open_case(seller.id, "listing", "ASIN B07XJ8C8F6 suppressed").created


def test_a_case_from_before_subjects_still_blocks_itself_only(
        service: CaseService, uow_factory: SqlUnitOfWorkFactory) -> None:
    """Cases from before migration 0004 have subject "": they match only cases with none."""
    _, seller = make_seller(service, "1")
    with uow_factory() as uow:
        old = uow.cases.add(d.NewCase(seller.id, None, "listing", None, "Listing", d.DECLINED,
                                      False, service.clock.now(), None))
        uow.commit()
    assert old.subject is None
    assert service.open_case(seller.id, "listing", "my blue mug listing is suppressed").created
    with pytest.raises(DeclinedFinal):
        service.open_case(seller.id, "listing", "listing problem, please help")


# Untyped cases ------------------------------------------------------------------------------
def test_an_untyped_case_naming_a_declined_order_is_refused(service: CaseService) -> None:
    _, seller = make_seller(service, "1")
    case = service.open_case(seller.id, "shipping", "never arrived", order_id=ORDER).case
    service.change_status(case.number, "declined", reason="delivered per carrier")
    with pytest.raises(DeclinedFinal, match="delivered per carrier"):
        service.open_case(seller.id, None, "something about this order", order_id=ORDER)
    with pytest.raises(DeclinedFinal):
        service.check_can_open(seller.id, None, ORDER)
    assert service.open_case(seller.id, None, "another order", order_id=ORDER2).created
    assert service.open_case(seller.id, None, "a general question").created


# An agent's type change ---------------------------------------------------------------------
def test_an_agent_cannot_retype_a_case_onto_a_declined_issue(
        service: CaseService, uow_factory: SqlUnitOfWorkFactory) -> None:
    _, seller = make_seller(service, "1")
    declined = service.open_case(seller.id, "shipping", "never arrived", order_id=ORDER).case
    service.change_status(declined.number, "declined", reason="delivered per carrier")
    other = service.open_case(seller.id, "order", "buyer wants a refund", order_id=ORDER).case
    with pytest.raises(DeclinedFinal, match="delivered per carrier"):
        service.change_type(other.number, "shipping", actor_ref="bo")
    assert service.get_case(other.number).case.case_type == "order"


def test_an_agent_cannot_retype_an_untyped_case_onto_a_declined_listing(
        service: CaseService) -> None:
    """A type without an order: the untyped case's words name the declined listing."""
    _, seller = make_seller(service, "1")
    declined = service.open_case(
        seller.id, "listing", "my bamboo cutting board listing was removed for policy").case
    service.change_status(declined.number, "declined", reason="restricted product")
    again = service.open_case(seller.id, None,
                              "please look at the bamboo cutting board again").case
    with pytest.raises(DeclinedFinal, match="restricted product"):
        service.change_type(again.number, "listing", actor_ref="bo")
    assert service.get_case(again.number).case.case_type is None
    other = service.open_case(seller.id, None, "the blue mug vanished from search").case
    assert service.change_type(other.number, "listing", actor_ref="bo").case_type == "listing"


def test_an_agent_cannot_retype_a_case_onto_another_active_case(service: CaseService) -> None:
    _, seller = make_seller(service, "1")
    first = service.open_case(seller.id, "shipping", "never arrived", order_id=ORDER).case
    second = service.open_case(seller.id, "order", "buyer wants a refund", order_id=ORDER).case
    with pytest.raises(InvalidTransition) as refused:
        service.change_type(second.number, "shipping", actor_ref="bo")
    assert refused.value.details["number"] == first.number


def test_an_agent_retypes_an_untyped_case_and_it_gets_a_subject(
        service: CaseService, uow_factory: SqlUnitOfWorkFactory) -> None:
    _, seller = make_seller(service, "1")
    case = service.open_case(seller.id, None, "my blue mug listing vanished from search").case
    retyped = service.change_type(case.number, "listing", actor_ref="bo")
    assert (retyped.case_type, retyped.subject) == ("listing", "blue mug vanished search")
    assert retyped.title == "Listings · blue mug vanished search"
    events = [(e.kind, e.from_value, e.to_value) for e in service.get_case(case.number).events]
    assert ("type", "", "listing") in events
    assert any("Type changed to Listings by bo" in (r.payload.get("text") or "")
               for r in outbox(uow_factory))
    # Now it is that issue: the same words open no second case.
    again = service.open_case(seller.id, "listing", "blue mug vanished from search again")
    assert again.case.number == case.number and not again.created


# Reopening ----------------------------------------------------------------------------------
def test_a_reopened_case_is_not_counted_for_the_daily_cap(service: CaseService) -> None:
    _, seller = make_seller(service, "1")
    first = service.open_case(seller.id, "listing", "blue mug suppressed").case
    service.change_status(first.number, "closed")
    for i in range(3):
        service.open_case(seller.id, None, f"question {i}")
    reopened = service.reopen(seller.id, first.number, "it is suppressed again")
    assert reopened.new_case and reopened.case.subject == "blue mug suppressed"
    assert service.open_case(seller.id, None, "question 4").created  # the fifth new case
    with pytest.raises(DailyCapReached):
        service.open_case(seller.id, None, "question 5")


@pytest.mark.parametrize("rules", [CaseRules(reopen_days=30)])
def test_reopening_has_a_window(service: CaseService, clock: ManualClock) -> None:
    _, seller = make_seller(service, "1")
    inside = service.open_case(seller.id, "listing", "blue mug suppressed").case
    outside = service.open_case(seller.id, "listing", "red kettle suppressed").case
    service.change_status(outside.number, "closed")
    clock.advance(days=10)
    service.change_status(inside.number, "closed")
    clock.advance(days=21)  # inside: closed 21 days ago; outside: 31
    assert service.reopen(seller.id, inside.number, "back again").new_case
    with pytest.raises(ReopenWindowPassed) as refused:
        service.reopen(seller.id, outside.number, "back again")
    assert refused.value.details == {"number": outside.number, "days": 30}
    assert not service.get_case(outside.number).reopened_as


def test_a_new_case_links_the_old_one_it_follows(service: CaseService,
                                                 uow_factory: SqlUnitOfWorkFactory,
                                                 clock: ManualClock) -> None:
    _, seller = make_seller(service, "1")
    old = service.open_case(seller.id, "listing", "blue mug suppressed").case
    service.change_status(old.number, "closed")
    clock.advance(days=45)
    new = service.open_case(seller.id, "listing", "suppressed again", subject=old.subject,
                            follows=old.number).case
    assert new.subject == old.subject and new.number != old.number
    assert ("follows", old.number) in [(e.kind, e.from_value)
                                       for e in service.get_case(new.number).events]
    assert ("followed_by", new.number) in [(e.kind, e.to_value)
                                           for e in service.get_case(old.number).events]
    texts = [r.payload.get("text") or "" for r in outbox(uow_factory)]
    assert f"Follows up {old.number} (closed too long ago to reopen)" in texts
    assert f"The seller opened {new.number} to follow this case up" in texts


# Simultaneous identical requests ------------------------------------------------------------
def test_simultaneous_identical_requests_without_an_order_make_one_case(
        uow_factory: SqlUnitOfWorkFactory, clock: ManualClock) -> None:
    """Real threads with their own connections (on PostgreSQL: concurrent transactions that
    all pass the read check before any commits; the unique index decides)."""
    service = CaseService(uow_factory, rules=CaseRules(daily_case_cap=100), clock=clock)
    _, seller = make_seller(service, "1")
    results = run_together(12, lambda i: service.open_case(
        seller.id, "listing", "my blue mug listing is suppressed"))
    assert len(results) == 12 and sum(r.created for r in results) == 1
    assert {r.case.number for r in results} == {"CX-000001"}


def test_simultaneous_requests_on_two_subjects_make_two_cases(
        uow_factory: SqlUnitOfWorkFactory, clock: ManualClock) -> None:
    service = CaseService(uow_factory, rules=CaseRules(daily_case_cap=100), clock=clock)
    _, seller = make_seller(service, "1")
    texts = ("ASIN B07XJ8C8F5 suppressed", "ASIN B0KETTLE01 suppressed")
    results = run_together(12, lambda i: service.open_case(seller.id, "listing", texts[i % 2]))
    assert sum(r.created for r in results) == 2
    cases = service.search_cases("all")
    assert sorted(c.subject or "" for c in cases) == ["asin b07xj8c8f5", "asin b0kettle01"]


# The agents' command line ---------------------------------------------------------------------
any_db = cli_tests.any_db


def test_case_type_on_the_command_line_refuses_a_declined_issue(any_db: str) -> None:
    number = cli_tests.seller_with_case()  # an Orders case on ORDER
    cases = build_services(load_settings()).cases
    seller_id = cases.get_case(number).case.seller_id
    declined = cases.open_case(seller_id, "shipping", "never arrived", order_id=ORDER).case
    cases.change_status(declined.number, "declined", reason="delivered per carrier")
    refused = cli_tests.runner.invoke(app, ["case", "type", number, "shipping"])
    assert refused.exit_code == 2 and "delivered per carrier" in refused.output
    changed = cli_tests.runner.invoke(app, ["case", "type", number, "payment", "--as", "bo"])
    assert changed.exit_code == 0, changed.output
    assert f"{number} is now Payments · {ORDER}" in changed.output
    assert cases.get_case(number).case.case_type == "payment"


# Migration 0004 on a database with cases ------------------------------------------------------
def test_migration_0004_keeps_existing_cases_and_lets_subjects_in(
        tmp_path: os.PathLike[str], clock: ManualClock) -> None:
    url = f"sqlite:///{tmp_path}/old.db"
    upgrade(url, "0003")
    old_db = Database(url)
    now = clock.now().isoformat()
    with old_db.engine.begin() as conn:
        conn.execute(text("INSERT INTO merchants (id, name, created_at) VALUES (1, 'Acme', :n)"),
                     {"n": now})
        conn.execute(text("INSERT INTO sellers (id, merchant_id, display_name, is_main, "
                          "created_at) VALUES (1, 1, 'Acme', true, :n)"), {"n": now})
        conn.execute(text(
            "INSERT INTO cases (number, seller_id, case_type, order_key, title, status, "
            "created_at, updated_at, status_changed_at) VALUES "
            "('CX-000001', 1, 'listing', '', 'Listings', 'open', :n, :n, :n)"), {"n": now})
        conn.execute(text("INSERT INTO counters (name, value) VALUES ('case', 1)"))
    old_db.dispose()
    upgrade(url)
    db = Database(url)
    try:
        service = CaseService(SqlUnitOfWorkFactory(db, "CX"), clock=clock)
        assert service.get_case("CX-000001").case.subject is None
        # The old case is no longer "every listing issue": a named one is a case of its own.
        assert service.open_case(1, "listing", "my blue mug listing is suppressed").created
        again = service.open_case(1, "listing", "listing problem, please help")
        assert not again.created and again.case.number == "CX-000001"
    finally:
        db.dispose()
