"""Email notifications on both databases: an address is used once verified by its one-time,
expiring link; the sweep mails an agent reply left unread FRONTDOOR_EMAIL_UNREAD_MINUTES, once,
and the evaluation invitation once per resolution; everything goes through the outbox."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from bot import domain as d
from bot.case_rules.email_addresses import EmailNotVerified, EmailVerified
from bot.cases import CaseService
from bot.clock import ManualClock
from bot.email_notices import EmailNotices
from bot.errors import InvalidInput
from bot.seller_emails import EMAIL, EMAIL_EVALUATION, EMAIL_REPLY, EMAIL_VERIFY, LINK_SLOT
from storage.email_notice_queries import SqlEmailNoticeStore
from storage.models import OutboxRow
from storage.uow import SqlUnitOfWorkFactory
from tests.integration.case_rules_support import make_seller

ORDER = "123-1234567-1234567"


def mails(uow_factory: SqlUnitOfWorkFactory, kind: str | None = None) -> list[OutboxRow]:
    with uow_factory() as uow:
        stmt = select(OutboxRow).where(OutboxRow.destination == EMAIL).order_by(OutboxRow.id)
        if kind:
            stmt = stmt.where(OutboxRow.kind == kind)
        rows = list(uow.session.scalars(stmt))
        uow.session.expunge_all()  # readable after the unit of work ends
        return rows


def verified_seller(service: CaseService, uow_factory: SqlUnitOfWorkFactory, user: str,
                    address: str) -> int:
    _, seller = make_seller(service, user)
    service.request_email(seller.id, address)
    token = mails(uow_factory, EMAIL_VERIFY)[-1].payload["link"]["token"]
    assert isinstance(service.verify_email(token), EmailVerified)
    return seller.id


def test_an_address_is_used_once_its_link_is_opened_once_in_time(
        service: CaseService, uow_factory: SqlUnitOfWorkFactory, clock: ManualClock) -> None:
    _, seller = make_seller(service, "u1")
    with pytest.raises(InvalidInput):
        service.request_email(seller.id, "not an address")
    with pytest.raises(InvalidInput):
        service.request_email(seller.id, "a@b")
    pending = service.request_email(seller.id, " Ada.Lovelace@Example.COM ")
    assert pending.pending_address == "Ada.Lovelace@example.com" and pending.address is None
    [mail] = mails(uow_factory, EMAIL_VERIFY)
    assert mail.payload["to"] == "Ada.Lovelace@example.com"
    assert LINK_SLOT in mail.payload["text"] and mail.payload["link"]["kind"] == "verify"
    token = mail.payload["link"]["token"]

    assert service.verify_email("forged" + token) == EmailNotVerified("unknown")
    assert service.verify_email(token) == EmailVerified(seller.id, "Ada.Lovelace@example.com")
    assert service.verify_email(token) == EmailNotVerified("unknown")  # used
    email = service.email_of(seller.id)
    assert email is not None and email.address == "Ada.Lovelace@example.com"

    # A change waits for its own link; the verified address stays in use meanwhile; a link
    # opened after 24 hours is expired.
    # Asking for the address in use mails nothing.
    same = service.request_email(seller.id, "Ada.Lovelace@EXAMPLE.com")
    assert same.pending_address is None and len(mails(uow_factory, EMAIL_VERIFY)) == 1
    service.request_email(seller.id, "new@example.com")
    # A double tap (or someone mailing a stranger over and over) gets no second mail at once.
    service.request_email(seller.id, "new@example.com")
    assert len(mails(uow_factory, EMAIL_VERIFY)) == 2
    clock.advance(minutes=3)
    service.request_email(seller.id, "new@example.com")
    assert len(mails(uow_factory, EMAIL_VERIFY)) == 3
    late = mails(uow_factory, EMAIL_VERIFY)[-1].payload["link"]["token"]
    clock.advance(hours=24, seconds=1)
    assert service.verify_email(late) == EmailNotVerified("expired")
    email = service.email_of(seller.id)
    assert email is not None and email.address == "Ada.Lovelace@example.com"
    assert email.pending_address == "new@example.com"

    assert service.remove_email(seller.id) is True
    assert service.email_of(seller.id) is None
    assert service.remove_email(seller.id) is False


def test_an_unread_reply_is_mailed_once_after_the_delay_a_read_one_never(
        service: CaseService, uow_factory: SqlUnitOfWorkFactory, clock: ManualClock) -> None:
    seller_id = verified_seller(service, uow_factory, "u2", "ada@example.com")
    _, quiet = make_seller(service, "u3", "Quiet")  # no address: settled, never mailed
    sweep = EmailNotices(uow_factory, SqlEmailNoticeStore(), clock, timedelta(minutes=30), 4,
                         batch_size=2)
    opened = service.open_case(seller_id, "shipping", "parcel missing", order_id=ORDER)
    other = service.open_case(quiet.id, "shipping", "parcel missing", order_id=ORDER)
    read_case = service.open_case(seller_id, "payment", "payout late",
                                  order_id="240518K7QW93XZ")
    number, other_number = opened.case.number, other.case.number
    service.agent_reply(number, "cli", "First answer", "Bo")
    clock.advance(minutes=5)
    service.agent_reply(number, "cli", "Second answer", "Bo")
    service.agent_reply(other_number, "cli", "Answer to quiet", "Bo")
    service.agent_reply(read_case.case.number, "cli", "Seen in chat", "Bo")
    service.mark_read(seller_id, [read_case.case.number])

    clock.advance(minutes=20)  # the first reply is 25 minutes old
    assert sweep.run() == 0
    clock.advance(minutes=10)  # 35 and 30 minutes
    assert sweep.run() == 1
    [mail] = mails(uow_factory, EMAIL_REPLY)
    assert mail.payload["to"] == "ada@example.com" and number in mail.payload["subject"]
    assert "2 agent replies" in mail.payload["text"] and "Second answer" in mail.payload["text"]
    assert mail.payload["link"] == {"kind": "login", "seller_id": seller_id,
                                    "case_number": number}
    assert mail.case_id == opened.case.id
    clock.advance(hours=2)
    assert sweep.run() == 0  # each reply once
    service.agent_reply(number, "cli", "Third answer", "Bo")
    clock.advance(minutes=31)
    assert sweep.run() == 1
    assert "Third answer" in mails(uow_factory, EMAIL_REPLY)[-1].payload["text"]
    assert len(mails(uow_factory, EMAIL_REPLY)) == 2


def test_the_evaluation_invitation_is_mailed_once_per_resolution_while_the_window_is_open(
        service: CaseService, uow_factory: SqlUnitOfWorkFactory, clock: ManualClock) -> None:
    seller_id = verified_seller(service, uow_factory, "u4", "bo@example.com")
    sweep = EmailNotices(uow_factory, SqlEmailNoticeStore(), clock, timedelta(minutes=30), 4)
    rated = service.open_case(seller_id, "payment", "payout late", order_id=ORDER).case
    unrated = service.open_case(seller_id, "shipping", "parcel late", order_id=ORDER).case
    old = service.open_case(seller_id, "order", "refund", order_id=ORDER).case
    service.change_status(old.number, d.RESOLVED)
    clock.advance(days=5)  # past the 4-day window: no invitation for ``old``
    for case in (rated, unrated):
        service.change_status(case.number, d.RESOLVED)
    service.evaluate(seller_id, rated.number, "like")
    assert sweep.run() == 1
    [mail] = mails(uow_factory, EMAIL_EVALUATION)
    assert mail.case_id == unrated.id and unrated.number in mail.payload["subject"]
    assert sweep.run() == 0
    # Back in progress and resolved again: a new resolution, a new invitation.
    service.change_status(unrated.number, d.INVESTIGATING)
    clock.advance(minutes=1)
    service.change_status(unrated.number, d.RESOLVED)
    assert sweep.run() == 1
    assert len(mails(uow_factory, EMAIL_EVALUATION)) == 2
