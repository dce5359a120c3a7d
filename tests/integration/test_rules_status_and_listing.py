"""Case status and the seller's listing against a real database, SQLite and PostgreSQL: which
status changes are allowed, search, and the unread ("Updated") counts."""

from __future__ import annotations

import pytest

from bot import outbox as ob
from bot.cases import CaseService
from bot.errors import InvalidInput, InvalidTransition
from storage.uow import SqlUnitOfWorkFactory
from tests.integration.case_rules_support import ORDER, make_seller, outbox


# Status, listing, unread ("Updated") -----------------------------------------------------------
def test_transitions_are_checked(service: CaseService) -> None:
    _, seller = make_seller(service, "1")
    case = service.open_case(seller.id, "order", "x", order_id=ORDER).case
    service.change_status(case.number, "closed")
    with pytest.raises(InvalidTransition, match="reopen"):
        service.change_status(case.number, "investigating")
    with pytest.raises(InvalidInput, match="unknown status"):
        service.change_status(case.number, "wat")


def test_back_to_open_is_allowed_and_not_announced_to_the_seller(
        service: CaseService, uow_factory: SqlUnitOfWorkFactory) -> None:
    _, seller = make_seller(service, "1")
    case = service.open_case(seller.id, "order", "x", order_id=ORDER).case
    service.change_status(case.number, "investigating")
    before = len(outbox(uow_factory, ob.SELLER_MESSAGE))
    assert service.change_status(case.number, "open").status == "open"
    assert len(outbox(uow_factory, ob.SELLER_MESSAGE)) == before


def test_list_search_and_unread(service: CaseService) -> None:
    _, seller = make_seller(service, "1")
    a = service.open_case(seller.id, "order", "late", order_id=ORDER).case
    b = service.open_case(seller.id, "payment", "fee").case
    service.agent_reply(a.number, "U1", "looking into it")
    service.agent_reply(a.number, "U1", "found it")
    service.internal_note(a.number, "U1", "seller is VIP")
    listing = {s.case.number: s for s in service.list_cases(seller.id)}
    assert listing[a.number].unread == 2 and listing[b.number].unread == 0
    last_reply = listing[a.number].last_reply
    assert last_reply is not None and last_reply.text == "found it"
    assert [s.case.number for s in service.list_cases(seller.id, query=ORDER)] == [a.number]
    assert [s.case.number for s in service.list_cases(seller.id, query="payments")] == [b.number]
    assert [s.case.number for s in service.list_cases(seller.id, query=b.number.lower())] == [
        b.number]
    assert service.mark_read(seller.id, [a.number]) == 2
    assert service.list_cases(seller.id, query=ORDER)[0].unread == 0
    service.change_status(b.number, "closed")
    assert [s.case.number for s in service.list_cases(seller.id, "closed")] == [b.number]
    assert len(service.list_cases(seller.id, "all")) == 2
    # Sellers never see internal notes.
    texts = [m.text for m in service.get_case(a.number, seller_id=seller.id).messages]
    assert "seller is VIP" not in texts
