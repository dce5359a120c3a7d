"""Rule 7 (docs/design.md) against a real database, SQLite and PostgreSQL: only an invitation
registers a seller, and sellers never reach each other's cases."""

from __future__ import annotations

import pytest

from bot.cases import CaseService
from bot.clock import ManualClock
from bot.errors import CaseNotFound, InvitationInvalid, NotRegistered, NotYourCase
from tests.integration.case_rules_support import ORDER, make_seller


# Registration (rule 7) -------------------------------------------------------------------------
def test_invitation_registers_once_and_is_case_insensitive(service: CaseService) -> None:
    inv = service.create_invitation("Acme")
    ident, seller = service.identify("telegram", "1")
    assert seller is None
    registered = service.register(ident.id, inv.code.lower())
    assert registered.is_main
    other, _ = service.identify("telegram", "2")
    with pytest.raises(InvitationInvalid, match="already been used"):
        service.register(other.id, inv.code)


def test_expired_and_unknown_invitations_are_refused(service: CaseService,
                                                     clock: ManualClock) -> None:
    inv = service.create_invitation("Acme", days=1)
    ident, _ = service.identify("telegram", "1")
    clock.advance(days=2)
    with pytest.raises(InvitationInvalid, match="expired"):
        service.register(ident.id, inv.code)
    with pytest.raises(InvitationInvalid, match="does not exist"):
        service.register(ident.id, "NOPE1234")


def test_unregistered_cannot_open_cases(service: CaseService) -> None:
    with pytest.raises(NotRegistered):
        service.open_case(999, "order", "late", order_id=ORDER)


def test_invitation_request_is_recorded(service: CaseService) -> None:
    ident, _ = service.identify("telegram", "77", display_name="Zoe")
    service.request_invitation(ident.id, "I sell shoes")
    [req] = service.invitation_requests()
    assert req["user"] == "77" and req["note"] == "I sell shoes"


# Isolation (rule 7) ----------------------------------------------------------------------------
def test_sellers_never_see_each_others_cases(service: CaseService) -> None:
    _, main = make_seller(service, "1", "Main")
    _, sub = make_seller(service, "2", "Sub", sub_of=main.id)
    assert sub.merchant_id == main.merchant_id and not sub.is_main
    case = service.open_case(main.id, "order", "late", order_id=ORDER).case
    for call in (
        lambda: service.get_case(case.number, seller_id=sub.id),
        lambda: service.add_seller_message(sub.id, case.number, "hi"),
        lambda: service.reopen(sub.id, case.number),
        lambda: service.keep_open(sub.id, case.number),
        lambda: service.set_urgent(case.number, True, "seller", "2", seller_id=sub.id),
        lambda: service.evaluate(sub.id, case.number, "like"),
        lambda: service.mark_read(sub.id, [case.number]),
    ):
        with pytest.raises(NotYourCase, match="not one of your cases"):
            call()
    assert service.list_cases(sub.id) == []
    # Same issue for the sub-account is its own case.
    assert service.open_case(sub.id, "order", "late", order_id=ORDER).created


def test_unknown_case_number(service: CaseService) -> None:
    with pytest.raises(CaseNotFound, match="CX-999999"):
        service.get_case("CX-999999")
