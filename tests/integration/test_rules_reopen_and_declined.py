"""Reopening (rule 3) and declined is final (rule 4) against a real database, SQLite and
PostgreSQL: a declined issue stays declined on every path, a closed case reopens as a linked
new one."""

from __future__ import annotations

import pytest

from bot.cases import CaseService
from bot.errors import DailyCapReached, DeclinedFinal, InvalidTransition
from tests.integration.case_rules_support import ORDER, make_seller


# Declined is final (rule 4) --------------------------------------------------------------------
def test_declined_is_final(service: CaseService) -> None:
    _, seller = make_seller(service, "1")
    case = service.open_case(seller.id, "policy", "restore my listing").case
    service.change_status(case.number, "declined", reason="counterfeit goods")
    with pytest.raises(DeclinedFinal, match="counterfeit goods"):
        service.open_case(seller.id, "policy", "please restore it")
    with pytest.raises(DeclinedFinal):
        service.reopen(seller.id, case.number, "please")
    with pytest.raises(InvalidTransition, match="final"):
        service.change_status(case.number, "investigating")
    with pytest.raises(DeclinedFinal):
        service.add_seller_message(seller.id, case.number, "but why")


def test_reopening_an_older_closed_case_cannot_get_round_a_decline(service: CaseService) -> None:
    _, seller = make_seller(service, "1")
    first = service.open_case(seller.id, "policy", "restore my listing", order_id=ORDER).case
    service.change_status(first.number, "closed")
    second = service.open_case(seller.id, "policy", "restore it please", order_id=ORDER).case
    service.change_status(second.number, "declined", reason="restricted product")
    with pytest.raises(DeclinedFinal, match="restricted product"):
        service.reopen(seller.id, first.number, "try again")
    assert service.list_cases(seller.id, "in_progress") == []


def test_reopening_a_closed_case_is_not_a_new_case_for_the_daily_cap(
        service: CaseService) -> None:
    # Issue 11: the bot says "You can reopen it", so the cap must not stop it, nor count it.
    _, seller = make_seller(service, "1")
    old = service.open_case(seller.id, "listing", "photo rejected").case
    service.change_status(old.number, "closed")
    for i in range(4):
        service.open_case(seller.id, None, f"question {i}")  # 5 new cases: the cap
    assert service.reopen(seller.id, old.number, "still rejected").new_case
    with pytest.raises(DailyCapReached):
        service.open_case(seller.id, None, "question 5")


# Reopen (rule 3) -------------------------------------------------------------------------------
def test_reopen_closed_case_links_both_ways(service: CaseService) -> None:
    _, seller = make_seller(service, "1")
    old = service.open_case(seller.id, "shipping", "lost parcel", order_id=ORDER).case
    service.change_status(old.number, "resolved")
    service.change_status(old.number, "closed")
    result = service.reopen(seller.id, old.number, "it never came")
    assert result.new_case and result.case.number == "CX-000002"
    new_detail = service.get_case(result.case.number)
    old_detail = service.get_case(old.number)
    assert new_detail.reopened_from == old.number
    assert old_detail.reopened_as == result.case.number
    assert new_detail.case.order_id == ORDER and new_detail.case.case_type == "shipping"
    # Reopening the old number again goes to the newest case of the chain.
    again = service.reopen(seller.id, old.number, "hello?")
    assert again.case.number == result.case.number and not again.new_case


def test_reopening_onto_the_active_case_of_the_issue_adds_the_words_there(
        service: CaseService) -> None:
    _, seller = make_seller(service, "1")
    old = service.open_case(seller.id, "shipping", "lost parcel", order_id=ORDER).case
    service.change_status(old.number, "closed")
    active = service.open_case(seller.id, "shipping", "still lost", order_id=ORDER).case
    service.change_status(active.number, "pending")
    photo = {"kind": "photo", "file_id": "courier-note", "file_name": "note.jpg",
             "source": "telegram"}
    result = service.reopen(seller.id, old.number, "the courier says it was returned", [photo])
    assert (result.case.number, result.previous.number, result.new_case) == (
        active.number, old.number, False)
    detail = service.get_case(active.number)
    assert detail.messages[-1].text == "the courier says it was returned"
    assert detail.messages[-1].attachments[0]["file_id"] == "courier-note"
    assert detail.case.status == "investigating"  # the answer it waited for
    assert service.get_case(old.number).case.reopened_as_id is None
    assert len(service.search_cases("all")) == 2


def test_reply_to_resolved_case_puts_it_back_in_progress(service: CaseService) -> None:
    _, seller = make_seller(service, "1")
    case = service.open_case(seller.id, "payment", "missing payout").case
    service.change_status(case.number, "resolved")
    updated, _, _ = service.add_seller_message(seller.id, case.number, "not fixed")
    assert updated.status == "investigating" and updated.number == case.number
    service.change_status(case.number, "pending")
    updated, _, _ = service.add_seller_message(seller.id, case.number, "here is the invoice")
    assert updated.status == "investigating"


def test_message_to_closed_case_asks_for_reopen(service: CaseService) -> None:
    _, seller = make_seller(service, "1")
    case = service.open_case(seller.id, "payment", "missing payout").case
    service.change_status(case.number, "closed")
    with pytest.raises(InvalidTransition, match="reopen"):
        service.add_seller_message(seller.id, case.number, "hello")
