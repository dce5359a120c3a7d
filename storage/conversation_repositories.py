"""A case's conversation: messages and their platform refs, events, the evaluation."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, exists, func, literal, select, update

from bot.domain import (
    AGENT,
    CaseEvent,
    CaseMessage,
    Evaluation,
)
from storage.models import (
    CaseEventRow,
    CaseMessageRow,
    CaseRow,
    EvaluationRow,
    MessageRefRow,
)
from storage.repository_base import SqlRepository as _Repo
from storage.repository_base import conflict_insert
from storage.row_mapping import (
    evaluation_from_row,
    event_from_row,
    message_from_row,
)

_MESSAGE_REFS = cast(Table, MessageRefRow.__table__)


class SqlMessageRepository(_Repo):
    def add(
        self, case_id: int, author_kind: str, author_ref: str | None, author_name: str | None,
        text: str, attachments: Sequence[dict[str, Any]], internal: bool, now: datetime,
    ) -> CaseMessage:
        row = CaseMessageRow(
            case_id=case_id, author_kind=author_kind, author_ref=author_ref,
            author_name=author_name, text=text, attachments=list(attachments),
            internal=internal, created_at=now,
        )
        self.session.add(row)
        self.session.flush()
        return message_from_row(row)

    def get(self, message_id: int) -> CaseMessage | None:
        row = self.session.get(CaseMessageRow, message_id)
        return message_from_row(row) if row else None

    def for_case(self, case_id: int, include_internal: bool) -> Sequence[CaseMessage]:
        stmt = select(CaseMessageRow).where(CaseMessageRow.case_id == case_id)
        if not include_internal:
            stmt = stmt.where(CaseMessageRow.internal.is_(False))
        return [message_from_row(r) for r in self.session.scalars(stmt.order_by(CaseMessageRow.id))]

    def _visible_agent(self) -> Any:
        return (CaseMessageRow.author_kind == AGENT) & CaseMessageRow.internal.is_(False)

    def last_visible_agent_reply(self, case_id: int) -> CaseMessage | None:
        row = self.session.scalar(
            select(CaseMessageRow)
            .where(CaseMessageRow.case_id == case_id, self._visible_agent())
            .order_by(CaseMessageRow.id.desc())
            .limit(1)
        )
        return message_from_row(row) if row else None

    def cases_mentioning(self, words: Sequence[str], statuses: Sequence[str] | None,
                         limit: int) -> Sequence[int]:
        if not words:
            return []
        text = func.lower(CaseMessageRow.text)
        stmt = (select(CaseRow.id)
                .where(exists().where(
                    CaseMessageRow.case_id == CaseRow.id,
                    *(text.contains(w.lower(), autoescape=True) for w in words)))
                .order_by(CaseRow.updated_at.desc(), CaseRow.id.desc()).limit(limit))
        if statuses:
            stmt = stmt.where(CaseRow.status.in_(statuses))
        return list(self.session.scalars(stmt))

    def unread_counts(self, case_ids: Sequence[int]) -> dict[int, int]:
        if not case_ids:
            return {}
        rows = self.session.execute(
            select(CaseMessageRow.case_id, func.count())
            .where(
                CaseMessageRow.case_id.in_(case_ids),
                self._visible_agent(),
                CaseMessageRow.read_at.is_(None),
            )
            .group_by(CaseMessageRow.case_id)
        )
        return {case_id: int(count) for case_id, count in rows}

    def mark_read(self, case_ids: Sequence[int], now: datetime) -> int:
        if not case_ids:
            return 0
        result = self.session.execute(
            update(CaseMessageRow)
            .where(
                CaseMessageRow.case_id.in_(case_ids),
                self._visible_agent(),
                CaseMessageRow.read_at.is_(None),
            )
            .values(read_at=now)
        )
        self.session.execute(
            update(CaseRow).where(CaseRow.id.in_(case_ids)).values(seller_seen_at=now)
        )
        return int(getattr(result, "rowcount", 0) or 0)

    def edit(self, message_id: int, text: str, now: datetime) -> CaseMessage:
        row = self.session.get(CaseMessageRow, message_id)
        if row is None:
            raise KeyError(message_id)
        row.text = text
        row.edited_at = now
        self.session.flush()
        return message_from_row(row)

    def add_ref(
        self, platform: str, chat_id: str, message_id: str, case_id: int,
        case_message_id: int | None,
    ) -> None:
        """Remember where a message landed on a platform. Recorded already is fine (delivery
        results can be recorded twice after a crash), and so is a case message gone meanwhile
        (the seller withdrew it while its copy was queued): then nothing is remembered. One
        statement, where a savepoint around an insert was three."""
        refs = _MESSAGE_REFS
        values = select(
            literal(platform, refs.c.platform.type), literal(chat_id, refs.c.chat_id.type),
            literal(message_id, refs.c.message_id.type), literal(case_id, refs.c.case_id.type),
            literal(case_message_id, refs.c.case_message_id.type),
        ).where(exists().where(CaseRow.id == case_id))
        if case_message_id is not None:
            values = values.where(exists().where(CaseMessageRow.id == case_message_id))
        adding = conflict_insert(self.session.get_bind().dialect.name)(refs)
        self.session.execute(adding.from_select(
            ["platform", "chat_id", "message_id", "case_id", "case_message_id"], values,
        ).on_conflict_do_nothing())

    def find_ref(
        self, platform: str, chat_id: str, message_id: str
    ) -> tuple[int, int | None] | None:
        row = self.session.scalar(
            select(MessageRefRow).where(
                MessageRefRow.platform == platform,
                MessageRefRow.chat_id == chat_id,
                MessageRefRow.message_id == message_id,
            )
        )
        return (row.case_id, row.case_message_id) if row else None


class SqlEventRepository(_Repo):
    def add(
        self, case_id: int, kind: str, actor_kind: str, actor_ref: str | None,
        from_value: str | None, to_value: str | None, reason: str | None, now: datetime,
    ) -> CaseEvent:
        row = CaseEventRow(
            case_id=case_id, kind=kind, actor_kind=actor_kind, actor_ref=actor_ref,
            from_value=from_value, to_value=to_value, reason=reason, created_at=now,
        )
        self.session.add(row)
        self.session.flush()
        return event_from_row(row)

    def for_case(self, case_id: int) -> Sequence[CaseEvent]:
        rows = self.session.scalars(
            select(CaseEventRow).where(CaseEventRow.case_id == case_id).order_by(CaseEventRow.id)
        )
        return [event_from_row(r) for r in rows]


class SqlEvaluationRepository(_Repo):
    def get(self, case_id: int) -> Evaluation | None:
        row = self.session.scalar(select(EvaluationRow).where(EvaluationRow.case_id == case_id))
        return evaluation_from_row(row) if row else None

    def add(self, case_id: int, level: str, reason: str | None, now: datetime,
            reason_code: str | None = None) -> Evaluation:
        row = EvaluationRow(case_id=case_id, level=level, reason=reason, reason_code=reason_code,
                            created_at=now)
        self.session.add(row)
        self.session.flush()
        return evaluation_from_row(row)

    def set_reason(self, case_id: int, reason_code: str, reason: str | None) -> Evaluation:
        row = self.session.scalar(select(EvaluationRow).where(EvaluationRow.case_id == case_id))
        if row is None:
            raise LookupError(f"no evaluation for case {case_id}")
        row.reason_code = reason_code
        row.reason = reason
        self.session.flush()
        return evaluation_from_row(row)
