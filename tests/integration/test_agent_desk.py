"""Agents' thread input, platform-independent: replies, notes, edits, buttons, retries."""

from __future__ import annotations

from sqlalchemy import select

from bot import outbox as ob
from bot.agent_desk import AgentDesk
from bot.cases import CaseService
from bot.messages import AgentMessage
from storage.models import OutboxRow
from storage.uow import SqlUnitOfWorkFactory
from tests.integration.case_rules_support import make_seller


def seller_items(uow_factory: SqlUnitOfWorkFactory) -> list[tuple[str, dict[str, object]]]:
    with uow_factory() as uow:
        rows = uow.session.scalars(select(OutboxRow).where(OutboxRow.destination == "telegram")
                                   .order_by(OutboxRow.id))
        return [(r.kind, dict(r.payload)) for r in rows]


def case_in_thread(service: CaseService, uow_factory: SqlUnitOfWorkFactory) -> str:
    ident, seller = make_seller(service, "42")
    case = service.open_case(seller.id, "order", "late", order_id="123-1234567-1234567",
                             identity_id=ident.id).case
    with uow_factory() as uow:  # as the dispatcher records after posting the parent
        uow.threads.add(case.id, "slack", "C1", "100.1")
        uow.commit()
    return case.number


def test_thread_reply_goes_to_seller_once(service: CaseService,
                                          uow_factory: SqlUnitOfWorkFactory) -> None:
    number = case_in_thread(service, uow_factory)
    desk = AgentDesk(service, uow_factory)
    msg = AgentMessage("U7", "Refund is on its way", thread_ref="C1:100.1", agent_name="Ann",
                       platform_message_id="100.2", event_id="Ev1")
    assert desk.thread_message(msg).action == "reply"
    assert desk.thread_message(msg).action == "duplicate"  # Slack retried the event
    [(kind, payload)] = seller_items(uow_factory)
    assert kind == ob.SELLER_MESSAGE and payload["agent_ts"] == "100.2"
    assert service.get_case(number).case.first_response_at is not None


def test_note_prefix_keeps_it_internal(service: CaseService,
                                       uow_factory: SqlUnitOfWorkFactory) -> None:
    number = case_in_thread(service, uow_factory)
    desk = AgentDesk(service, uow_factory, note_prefix="note:")
    out = desk.thread_message(AgentMessage("U7", "NOTE: check the carrier", thread_ref="C1:100.1",
                                           event_id="Ev2"))
    assert out.action == "note"
    assert seller_items(uow_factory) == []
    [_, note] = service.get_case(number).messages
    assert note.internal and note.text == "check the carrier"


def test_edit_of_relayed_reply_is_relayed_as_edit(service: CaseService,
                                                  uow_factory: SqlUnitOfWorkFactory) -> None:
    case_in_thread(service, uow_factory)
    desk = AgentDesk(service, uow_factory)
    desk.thread_message(AgentMessage("U7", "Refund tomorow", thread_ref="C1:100.1",
                                     platform_message_id="100.2", event_id="Ev3"))
    out = desk.thread_edit(AgentMessage("U7", "Refund tomorrow", thread_ref="C1:100.1",
                                        platform_message_id="100.2", edited=True, event_id="Ev4"))
    assert out.action == "edit"
    kinds = seller_items(uow_factory)
    assert [k for k, _ in kinds] == [ob.SELLER_MESSAGE, ob.SELLER_EDIT]
    assert kinds[1][1]["text"] == "💬 CX-000001: Refund tomorrow"


def test_an_edit_in_a_case_opened_on_the_portal_reaches_the_seller_like_the_reply(
        service: CaseService, uow_factory: SqlUnitOfWorkFactory) -> None:
    _ident, seller = make_seller(service, "43")
    # The portal opens cases without a chat of their own: replies go to the seller's chat.
    case = service.open_case(seller.id, "order", "late", order_id="123-1234567-1234567").case
    assert case.identity_id is None
    with uow_factory() as uow:
        uow.threads.add(case.id, "slack", "C1", "100.1")
        uow.commit()
    desk = AgentDesk(service, uow_factory)
    desk.thread_message(AgentMessage("U7", "Refund of 12 EUR", thread_ref="C1:100.1",
                                     platform_message_id="100.2", event_id="Ev5"))
    out = desk.thread_edit(AgentMessage("U7", "Refund of 21 EUR", thread_ref="C1:100.1",
                                        platform_message_id="100.2", edited=True, event_id="Ev6"))
    assert out.action == "edit"
    items = seller_items(uow_factory)
    assert [k for k, _ in items] == [ob.SELLER_MESSAGE, ob.SELLER_EDIT]
    assert items[0][1]["address"] == items[1][1]["address"]
    assert items[1][1]["text"] == "💬 CX-000001: Refund of 21 EUR"


def test_messages_outside_case_threads_are_ignored(service: CaseService,
                                                   uow_factory: SqlUnitOfWorkFactory) -> None:
    case_in_thread(service, uow_factory)
    desk = AgentDesk(service, uow_factory)
    assert desk.thread_message(AgentMessage("U7", "lunch?", thread_ref="C1:999.9")).action == \
        "ignored"
    assert seller_items(uow_factory) == []


def test_buttons_change_status_and_urgent(service: CaseService,
                                          uow_factory: SqlUnitOfWorkFactory) -> None:
    number = case_in_thread(service, uow_factory)
    desk = AgentDesk(service, uow_factory)
    assert desk.button(number, "status", "investigating", "U7", event_id="A1").action == "status"
    assert desk.button(number, "urgent", "on", "U7").action == "urgent"
    assert desk.button(number, "status", "declined", "U7", reason="outside policy").action == \
        "status"
    refused = desk.button(number, "status", "investigating", "U7")
    assert refused.action == "refused" and refused.error and "final" in refused.error
    case = service.get_case(number).case
    assert case.status == "declined" and case.urgent
