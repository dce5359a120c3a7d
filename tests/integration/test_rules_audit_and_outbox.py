"""What a case change leaves behind, against a real database, SQLite and PostgreSQL: the audit
events, and the outbox items queued in the same transaction (and what text gets stored)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from bot import outbox as ob
from bot.cases import CaseService
from bot.clock import ManualClock
from bot.errors import InvalidInput
from storage.models import CaseEventRow
from storage.uow import SqlUnitOfWorkFactory
from tests.integration.case_rules_support import ORDER, make_seller, outbox


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
