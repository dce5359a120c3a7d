"""The case rules (docs/design.md, rules 1-11) against a real database: SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from bot import outbox as ob
from bot.cases import CaseService
from bot.clock import ManualClock
from bot.domain import Identity, Seller
from bot.errors import (
    CaseNotFound,
    DailyCapReached,
    DeclinedFinal,
    EvaluationRefused,
    InvalidInput,
    InvalidTransition,
    InvitationInvalid,
    KeepOpenLimit,
    NotRegistered,
    NotYourCase,
)
from storage.models import CaseEventRow, OutboxRow
from storage.uow import SqlUnitOfWorkFactory

ORDER = "123-1234567-1234567"


def make_seller(service: CaseService, user: str, name: str = "Acme",
                sub_of: int | None = None) -> tuple[Identity, Seller]:
    inv = service.create_invitation(name, sub_account_of=sub_of)
    ident, _ = service.identify("telegram", user)
    seller = service.register(ident.id, inv.code)
    return ident, seller


def outbox(uow_factory: SqlUnitOfWorkFactory, kind: str | None = None) -> list[OutboxRow]:
    with uow_factory() as uow:
        stmt = select(OutboxRow).order_by(OutboxRow.id)
        if kind:
            stmt = stmt.where(OutboxRow.kind == kind)
        rows = list(uow.session.scalars(stmt))
        uow.session.expunge_all()  # keep them readable after the unit of work ends
        return rows


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


# One case per issue (rule 1) -------------------------------------------------------------------
def test_same_issue_returns_the_active_case(service: CaseService) -> None:
    ident, seller = make_seller(service, "1")
    first = service.open_case(seller.id, "order", "never arrived", order_id=ORDER,
                              identity_id=ident.id)
    again = service.open_case(seller.id, "order", "still nothing", order_id=ORDER)
    assert first.created and not again.created
    assert again.case.number == first.case.number == "CX-000001"
    other_order = service.open_case(seller.id, "order", "another", order_id="240518K7QW93XZ")
    other_type = service.open_case(seller.id, "payment", "fee", order_id=ORDER)
    assert other_order.created and other_type.created
    assert other_type.case.number == "CX-000003"


def test_case_numbers_are_gapless_and_prefixed(db: object, relay: object, clock: ManualClock) -> None:
    from storage.database import Database

    assert isinstance(db, Database)
    svc = CaseService(SqlUnitOfWorkFactory(db, "ZX"), clock=clock)
    _, seller = make_seller(svc, "1")
    numbers = [svc.open_case(seller.id, None, f"question {i}").case.number for i in range(3)]
    assert numbers == ["ZX-000001", "ZX-000002", "ZX-000003"]


def test_untyped_case_is_titled_with_its_creation_time(service: CaseService) -> None:
    _, seller = make_seller(service, "1")
    case = service.open_case(seller.id, None, "hello?").case
    assert case.title == "Enquiry of 2026-01-05 09:00 UTC"


def test_closed_case_does_not_block_a_new_one(service: CaseService) -> None:
    _, seller = make_seller(service, "1")
    first = service.open_case(seller.id, "listing", "photo rejected").case
    service.change_status(first.number, "closed")
    second = service.open_case(seller.id, "listing", "photo rejected again")
    assert second.created and second.case.number != first.number


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


# Urgent, keep open (rule 5) --------------------------------------------------------------------
def test_urgent_tightens_first_response_target(service: CaseService, clock: ManualClock) -> None:
    _, seller = make_seller(service, "1")
    case = service.open_case(seller.id, "account_access", "locked out").case
    assert case.first_response_due_at == clock.now() + timedelta(hours=24)
    clock.advance(hours=1)
    urgent = service.set_urgent(case.number, True, "seller", "1", seller_id=seller.id)
    assert urgent.urgent and urgent.first_response_due_at == clock.now() + timedelta(hours=4)


def test_urgent_while_waiting_for_the_seller_counts_from_the_pause(
        service: CaseService, clock: ManualClock) -> None:
    _, seller = make_seller(service, "1")
    case = service.open_case(seller.id, "account_access", "locked out").case
    clock.advance(hours=2)
    service.change_status(case.number, "pending")
    clock.advance(hours=8)  # the clock stands still at 2 h while the seller is away
    service.set_urgent(case.number, True, "seller", "1", seller_id=seller.id)
    clock.advance(hours=2)
    back, _, _ = service.add_seller_message(seller.id, case.number, "here is the info")
    # Flagged while paused: the 4 h urgent target runs from the seller's reply (16 h after
    # opening), not from the flag during the pause (which would have left no time at all).
    assert back.first_response_due_at == clock.now() + timedelta(hours=4)


def test_keep_open_extends_deadline_a_limited_number_of_times(service: CaseService,
                                                              clock: ManualClock) -> None:
    _, seller = make_seller(service, "1")
    case = service.open_case(seller.id, "inventory", "stock mismatch").case
    with pytest.raises(InvalidTransition, match="in progress"):
        service.keep_open(seller.id, case.number)
    pending = service.change_status(case.number, "pending")
    assert pending.auto_close_at == clock.now() + timedelta(days=7)
    kept = service.keep_open(seller.id, case.number)
    assert kept.auto_close_at == clock.now() + timedelta(days=14)
    service.keep_open(seller.id, case.number)
    with pytest.raises(KeepOpenLimit):
        service.keep_open(seller.id, case.number)


def test_first_response_clock_pauses_while_pending(service: CaseService,
                                                   clock: ManualClock) -> None:
    _, seller = make_seller(service, "1")
    case = service.open_case(seller.id, "listing", "suppressed").case
    due = case.first_response_due_at
    assert due is not None
    service.change_status(case.number, "pending")
    clock.advance(hours=5)
    back, _, _ = service.add_seller_message(seller.id, case.number, "here you go")
    assert back.first_response_due_at == due + timedelta(hours=5)


# Evaluation (rule 6) ---------------------------------------------------------------------------
def test_evaluation_once_within_four_days(service: CaseService, clock: ManualClock) -> None:
    _, seller = make_seller(service, "1")
    case = service.open_case(seller.id, "advertising", "ads paused").case
    with pytest.raises(EvaluationRefused, match="not been resolved"):
        service.evaluate(seller.id, case.number, "like")
    service.change_status(case.number, "resolved")
    with pytest.raises(InvalidInput, match="unknown evaluation"):
        service.evaluate(seller.id, case.number, "great")
    # Issue 11: a lower rating is recorded without a reason; the reason may follow.
    ev = service.evaluate(seller.id, case.number, "disappointing", "took too long")
    assert ev.level == "disappointing" and ev.reason_code == "other"
    with pytest.raises(EvaluationRefused, match="already"):
        service.evaluate(seller.id, case.number, "like")
    other = service.open_case(seller.id, "advertising", "ads paused again", order_id=None)
    assert other.created is False  # the resolved case is still the active one on this issue


def test_evaluation_window_closes(service: CaseService, clock: ManualClock) -> None:
    _, seller = make_seller(service, "1")
    case = service.open_case(seller.id, "registration", "documents").case
    service.change_status(case.number, "resolved")
    clock.advance(days=4, minutes=1)
    with pytest.raises(EvaluationRefused, match="4 days"):
        service.evaluate(seller.id, case.number, "like")


# Guideline abuse (rule 8) ----------------------------------------------------------------------
def test_daily_cap_on_new_cases(service: CaseService, clock: ManualClock) -> None:
    _, seller = make_seller(service, "1")
    for i in range(5):
        service.open_case(seller.id, None, f"question {i}")
    with pytest.raises(DailyCapReached, match="limit is 5"):
        service.open_case(seller.id, None, "one more")
    clock.advance(hours=24, seconds=1)
    assert service.open_case(seller.id, None, "next day").created


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


# Audit trail and outbox ------------------------------------------------------------------------
def test_every_change_writes_an_event(service: CaseService,
                                      uow_factory: SqlUnitOfWorkFactory) -> None:
    _, seller = make_seller(service, "1")
    case = service.open_case(seller.id, "order", "late", order_id=ORDER).case
    service.change_status(case.number, "investigating", "agent", "U1")
    service.set_urgent(case.number, True, "agent", "U1")
    service.change_status(case.number, "pending", "agent", "U1")
    service.keep_open(seller.id, case.number)
    service.request_human(seller.id, case.number)
    service.change_status(case.number, "resolved", "agent", "U1", "refund issued")
    service.evaluate(seller.id, case.number, "like")
    kinds = [(e.kind, e.to_value) for e in service.get_case(case.number).events]
    assert [k for k, _ in kinds] == ["created", "status", "urgent", "status", "keep_open",
                                     "needs_human", "status", "evaluation"]
    resolved = [e for e in service.get_case(case.number).events if e.to_value == "resolved"][0]
    assert resolved.actor_ref == "U1" and resolved.reason == "refund issued"
    with uow_factory() as uow:
        assert uow.session.scalar(select(func.count()).select_from(CaseEventRow)) == 8


def test_first_response_is_recorded_once_with_its_outcome(service: CaseService,
                                                          clock: ManualClock) -> None:
    _, seller = make_seller(service, "1")
    on_time = service.open_case(seller.id, "order", "late", order_id=ORDER).case
    late = service.open_case(seller.id, "payment", "fee").case
    clock.advance(hours=2)
    service.agent_reply(on_time.number, "agent7", "Looking into it")
    service.agent_reply(on_time.number, "agent7", "Still looking")
    clock.advance(hours=23)
    service.agent_reply(late.number, "agent8", "Sorry for the wait")
    for number, agent, outcome in ((on_time.number, "agent7", "met"),
                                   (late.number, "agent8", "missed")):
        events = [e for e in service.get_case(number).events if e.kind == "first_response"]
        assert [(e.actor_ref, e.to_value) for e in events] == [(agent, outcome)]


def test_an_edited_agent_reply_keeps_its_first_words_in_the_history(
        service: CaseService) -> None:
    _, seller = make_seller(service, "1")
    case = service.open_case(seller.id, "order", "late", order_id=ORDER).case
    _, reply = service.agent_reply(case.number, "agent7", "Refund is on its way")
    edited = service.agent_edit(reply.id, "Refund will be issued tomorrow")
    assert edited is not None
    detail = service.get_case(case.number)
    assert detail.messages[-1].text == "Refund will be issued tomorrow"
    event = next(e for e in detail.events if e.kind == "message_edited")
    assert (event.actor_ref, event.from_value, event.reason) == (
        "agent7", f"message {reply.id}", "Refund is on its way")


def test_changes_queue_outbox_items_in_the_same_transaction(
        service: CaseService, uow_factory: SqlUnitOfWorkFactory) -> None:
    ident, seller = make_seller(service, "1")
    case = service.open_case(seller.id, "order", "late", order_id=ORDER,
                             identity_id=ident.id).case
    kinds = [r.kind for r in outbox(uow_factory)]
    assert kinds == [ob.CASE_PARENT, ob.THREAD_POST]
    service.agent_reply(case.number, "U1", "on it", from_agents_platform=True,
                        platform_message_id="1700.1")
    [to_seller] = outbox(uow_factory, ob.SELLER_MESSAGE)
    assert to_seller.destination == "telegram" and to_seller.payload["address"] == "1"
    assert "on it" in to_seller.payload["reply"]["text"]
    assert to_seller.payload["agent_ts"] == "1700.1"
    service.internal_note(case.number, "U1", "private", from_agents_platform=True)
    assert len(outbox(uow_factory, ob.SELLER_MESSAGE)) == 1  # notes never reach the seller
    service.change_status(case.number, "resolved")
    seller_texts = [r.payload["reply"]["text"] for r in outbox(uow_factory, ob.SELLER_MESSAGE)]
    assert any("resolved" in t for t in seller_texts)
    eval_prompt = outbox(uow_factory, ob.SELLER_MESSAGE)[-1].payload["reply"]
    assert [b["payload"] for b in eval_prompt["buttons"]] == [
        f"eval:{case.number}:like", f"eval:{case.number}:so_so",
        f"eval:{case.number}:disappointing"]


def test_oversized_and_control_text(service: CaseService) -> None:
    _, seller = make_seller(service, "1")
    with pytest.raises(InvalidInput, match="limit is 4000"):
        service.open_case(seller.id, "order", "x" * 100_000, order_id=ORDER)
    case = service.open_case(seller.id, None, "hi\x00\x07 there\n😀 مرحبا 你好 '; DROP TABLE cases;--")
    [msg] = service.get_case(case.case.number).messages
    assert msg.text == "hi there\n😀 مرحبا 你好 '; DROP TABLE cases;--"


def test_an_unblock_seen_twice_is_told_to_the_threads_once(
        service: CaseService, uow_factory: SqlUnitOfWorkFactory, clock: ManualClock) -> None:
    ident, seller = make_seller(service, "1")
    service.open_case(seller.id, "order", "late", order_id=ORDER, identity_id=ident.id)
    relay = service.relay
    with uow_factory() as uow:
        registered = uow.identities.get(ident.id)
        assert registered is not None and registered.seller_id == seller.id
        blocked = relay.seller_unreachable(uow, registered, clock.now())
        uow.commit()
    # Two processes got the news at once (the my_chat_member update and a /start), both
    # holding the identity as blocked.
    for _ in range(2):
        with uow_factory() as uow:
            assert relay.seller_reachable(uow, blocked, clock.now()).blocked_at is None
            uow.commit()
    notes = [r.payload["text"] for r in outbox(uow_factory, ob.THREAD_POST)]
    assert sum("blocked the bot" in n for n in notes) == 1
    assert sum("accepts messages again" in n for n in notes) == 1
    with uow_factory() as uow:
        assert uow.identities.get(ident.id).blocked_at is None  # type: ignore[union-attr]
