"""What the agents' thread is told when an agent deletes a reply whose copies could not all be
taken back: the copy left with the seller is named, and no "Deleted for the seller too"
follows when the other copies' take-backs succeed. On SQLite and PostgreSQL, with the
dispatcher and scripted senders of test_outbox_dispatch."""

from __future__ import annotations

from datetime import timedelta

from bot import outbox as ob
from bot.cases import CaseService
from bot.clock import ManualClock
from storage.database import Database
from storage.outbox_queue import SqlOutboxQueue
from storage.uow import SqlUnitOfWorkFactory
from tests.integration.case_rules_support import make_seller, outbox
from tests.integration.test_outbox_dispatch import ScriptedSender, dispatcher

AGENT = "U1"
PHOTO = {"kind": "photo", "file_id": "F1", "file_name": "box.png", "mime_type": "image/png",
         "size": 2048, "url": "https://files.slack.test/F1/box.png"}


def reply_with_a_photo(service: CaseService, user: str) -> int:
    """An agent's reply with words and a photo to a Telegram seller's case: its message id."""
    ident, seller = make_seller(service, user)
    case = service.open_case(seller.id, "shipping", "parcel damaged", identity_id=ident.id).case
    _, reply = service.agent_reply(case.number, AGENT, "The box as it arrived.",
                                   agent_name="Ann", attachments=[PHOTO])
    return reply.id


def thread_notes(uow_factory: SqlUnitOfWorkFactory) -> list[str]:
    return [str(row.payload.get("text", "")) for row in outbox(uow_factory, ob.THREAD_POST)]


async def test_a_photo_still_on_its_way_is_named_and_the_text_taken_back_is_not_called_a_deletion(
        db: Database, service: CaseService, uow_factory: SqlUnitOfWorkFactory,
        clock: ManualClock) -> None:
    reply_id = reply_with_a_photo(service, "42")
    telegram, slack = ScriptedSender(ob.TELEGRAM), ScriptedSender(ob.SLACK)
    deliveries = dispatcher(db, clock, telegram, slack)
    await dispatcher(db, clock, telegram).run_once(limit=1)  # the reply's words reach the seller
    [words] = outbox(uow_factory, ob.SELLER_MESSAGE)
    assert words.status == "sent"
    # The photo is out being uploaded (claimed, its result not recorded yet).
    [photo] = SqlOutboxQueue(db).claim_due([ob.TELEGRAM], clock.now(), 10, timedelta(minutes=5))
    assert photo.kind == ob.SELLER_FILE

    assert service.agent_delete(reply_id, AGENT) is not None

    # The photo's upload ends, and the words' take-back goes after it (the chat's order).
    clock.advance(seconds=600)
    for _ in range(3):
        await deliveries.run_once()
    [take_back] = outbox(uow_factory, ob.SELLER_DELETE)
    assert take_back.status == "sent"
    notes = thread_notes(uow_factory)
    assert any("Could not delete it for the seller" in note and "being delivered" in note
               for note in notes)
    assert not any("Deleted for the seller too" in note for note in notes)


async def test_every_copy_taken_back_is_one_deletion_note(
        db: Database, service: CaseService, uow_factory: SqlUnitOfWorkFactory,
        clock: ManualClock) -> None:
    reply_id = reply_with_a_photo(service, "43")
    deliveries = dispatcher(db, clock, ScriptedSender(ob.TELEGRAM), ScriptedSender(ob.SLACK))
    for _ in range(3):
        await deliveries.run_once()
    assert [r.status for r in outbox(uow_factory, ob.SELLER_FILE)] == ["sent"]

    assert service.agent_delete(reply_id, AGENT) is not None
    for _ in range(4):
        await deliveries.run_once()

    assert [r.status for r in outbox(uow_factory, ob.SELLER_DELETE)] == ["sent", "sent"]
    notes = thread_notes(uow_factory)
    assert [n for n in notes if "Deleted for the seller too" in n] == [
        "🗑 Deleted for the seller too"]
    assert not any("Could not delete" in note for note in notes)
