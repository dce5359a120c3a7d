"""SQLAlchemy implementation of `bot.routing_port.RoutingRepository`."""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from bot import outbox as ob
from bot.messages import Reply
from bot.routing_port import RelayedItem
from storage.models import CaseMessageRow, CaseRow, EvaluationRow, MessageRefRow, OutboxRow

# Not "dead": a dead letter never reached the seller, so nobody can be answering it.
_REACHING = ("pending", "sent")


class SqlRoutingRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def last_relayed(self, destination: str, ordering_key: str) -> RelayedItem | None:
        row = self.session.execute(
            select(OutboxRow.id, OutboxRow.kind, OutboxRow.created_at, OutboxRow.payload,
                   CaseRow.seller_id,
                   CaseRow.number, CaseRow.case_type, CaseRow.order_key, CaseRow.status,
                   EvaluationRow.id.label("evaluation_id"))
            .join(CaseRow, CaseRow.id == OutboxRow.case_id)
            .outerjoin(EvaluationRow, EvaluationRow.case_id == CaseRow.id)
            .where(OutboxRow.ordering_key == ordering_key, OutboxRow.status.in_(_REACHING),
                   OutboxRow.destination == destination,
                   # An agent's files count: a reply made only of a file is answered too.
                   OutboxRow.kind.in_((ob.SELLER_MESSAGE, ob.SELLER_FILE)))
            .order_by(OutboxRow.id.desc()).limit(1)
        ).first()
        if row is None:
            return None
        payload = row.payload or {}
        agent_message = payload.get("case_message_id")
        agent_text = None
        if row.kind == ob.SELLER_FILE and isinstance(agent_message, int):
            # A file carries no words: the agent's question is in the message it came with.
            agent_text = self.session.scalar(select(CaseMessageRow.text)
                                             .where(CaseMessageRow.id == agent_message))
        return RelayedItem(
            outbox_id=int(row.id), queued_at=row.created_at,
            reply=Reply.from_dict(payload.get("reply") or {}),
            agent_message_id=int(agent_message) if isinstance(agent_message, int) else None,
            seller_id=int(row.seller_id), number=row.number, case_type=row.case_type,
            order_id=row.order_key or None, status=row.status,
            rated=row.evaluation_id is not None, agent_text=agent_text,
        )

    def remove_message(self, message_id: int) -> None:
        self.session.execute(delete(MessageRefRow)
                             .where(MessageRefRow.case_message_id == message_id))
        self.session.execute(delete(CaseMessageRow).where(CaseMessageRow.id == message_id))
