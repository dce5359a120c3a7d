"""The relay queues one THREAD_FILE item per copyable seller file, after the thread post, so
sellers' files reach the case's Slack thread as files, not only as a line of metadata."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from bot import outbox as ob
from bot.cases import CaseRules, CaseService
from bot.clock import ManualClock
from bot.messages import Attachment
from bot.relay import Relay, RelayConfig
from storage.database import Database
from storage.models import OutboxRow
from storage.uow import SqlUnitOfWorkFactory
from tests.integration.serve_relay_support import ORDER, SUPPORT


# The relay ---------------------------------------------------------------------------------
def _service(db: Database, file_sources: frozenset[str]) -> tuple[CaseService,
                                                                   SqlUnitOfWorkFactory]:
    uow_factory = SqlUnitOfWorkFactory(db, "CX")
    relay = Relay(RelayConfig(agents_destination="slack", channel_for=lambda _t: SUPPORT,
                              file_sources=file_sources))
    return CaseService(uow_factory, relay, CaseRules(), ManualClock()), uow_factory


def _agent_items(uow_factory: SqlUnitOfWorkFactory) -> list[OutboxRow]:
    with uow_factory() as uow:
        rows = list(uow.session.scalars(
            select(OutboxRow).where(OutboxRow.destination == "slack").order_by(OutboxRow.id)))
        uow.session.expunge_all()
        return rows


def _open_with(service: CaseService, attachments: list[dict[str, Any]]) -> None:
    invitation = service.create_invitation("Ada's Shop")
    identity, _ = service.identify("telegram", "424242")
    seller = service.register(identity.id, invitation.code)
    service.open_case(seller.id, "shipping", "the parcel arrived damaged", ORDER,
                      attachments, identity_id=identity.id)


def test_relay_queues_a_copy_per_telegram_file_after_the_post(db: Database) -> None:
    service, uow_factory = _service(db, frozenset({"telegram"}))
    photo = Attachment("photo", "AgAC1", None, "image/jpeg", 900, source="telegram").as_dict()
    slack_file = Attachment("file", "F0SLACK", "x.png", "image/png", 10,
                            url="https://files.slack.com/x.png").as_dict()
    legacy = {"kind": "document", "file_id": "BQAC2", "file_name": "label.pdf"}  # no source

    _open_with(service, [photo, slack_file, legacy])

    rows = _agent_items(uow_factory)
    assert [r.kind for r in rows] == [ob.CASE_PARENT, ob.THREAD_POST, ob.THREAD_FILE,
                                      ob.THREAD_FILE]
    post, first, second = rows[1], rows[2], rows[3]
    assert len(post.payload["attachments"]) == 3  # the post describes every file
    assert first.payload["source"] == "telegram" and first.payload["attachment"] == photo
    # A file recorded without its channel comes from the case's chat (Telegram here).
    assert second.payload["source"] == "telegram"
    assert second.payload["attachment"]["file_id"] == "BQAC2"
    assert first.payload["case_message_id"] == post.payload["case_message_id"]
    assert {r.ordering_key for r in rows} == {rows[0].ordering_key}  # one order per case


def test_relay_copies_nothing_without_a_file_source(db: Database) -> None:
    service, uow_factory = _service(db, frozenset())
    photo = Attachment("photo", "AgAC1", None, "image/jpeg", 900, source="telegram")

    _open_with(service, [photo.as_dict()])

    assert [r.kind for r in _agent_items(uow_factory)] == [ob.CASE_PARENT, ob.THREAD_POST]
