"""An agent edits a reply a Chinese seller already has: the edit keeps the frame the reply
was sent in ("💬 CX-000001：…"), not the English one (SQLite and PostgreSQL)."""

from __future__ import annotations

from sqlalchemy import select

from bot import outbox as ob
from bot.cases import CaseService
from storage.models import OutboxRow
from storage.uow import SqlUnitOfWorkFactory
from tests.unit import chat_harness
from tests.unit.chat_harness import Chat

chat = chat_harness.chat
engine = chat_harness.engine

ORDER = "123-1234567-1234567"


def _sent_to_seller(uow_factory: SqlUnitOfWorkFactory) -> list[tuple[str, str]]:
    with uow_factory() as uow:
        rows = uow.session.scalars(select(OutboxRow).where(
            OutboxRow.kind.in_([ob.SELLER_MESSAGE, ob.SELLER_EDIT])).order_by(OutboxRow.id))
        return [(r.kind, (r.payload.get("reply") or {}).get("text") or r.payload["text"])
                for r in rows]


async def test_an_edited_agent_reply_keeps_the_chinese_sellers_frame(
        chat: Chat, service: CaseService, uow_factory: SqlUnitOfWorkFactory) -> None:
    await chat.command("language")
    await chat.press("简体中文")
    await chat.say(f"my order {ORDER} never arrived, the buyer keeps asking me")
    await chat.press("创建工单")
    _case, reply = service.agent_reply("CX-000001", "U1", "We found the parcel.", "Bo")
    service.agent_edit(reply.id, "We found the parcel in Leipzig.")
    sent, edited = _sent_to_seller(uow_factory)[-2:]
    assert sent == (ob.SELLER_MESSAGE, "💬 CX-000001：We found the parcel.")
    assert edited == (ob.SELLER_EDIT, "💬 CX-000001：We found the parcel in Leipzig.")
