"""Web chat lines (`bot.web_chat.WebChatStore`): each delivered outbox item once, each typed
message once, read by address after the last id a browser has (index
``ix_web_chat_lines_address``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, delete, exists, literal, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import aliased

from bot import domain as d
from bot.web_chat import BOT_LINE, SELLER_LINE, WEB, WebChatLine
from storage.database import Database
from storage.models import CaseMessageRow, ProcessedEventRow, WebChatLineRow


def _line(row: WebChatLineRow) -> WebChatLine:
    from datetime import UTC

    created = row.created_at if row.created_at.tzinfo else row.created_at.replace(tzinfo=UTC)
    return WebChatLine(row.id, row.author, dict(row.payload or {}), created)


def oldest_before(cutoff: datetime, limit: int) -> Select[int]:
    """The ids of the oldest ``limit`` lines created before ``cutoff``: read from the index
    ``ix_web_chat_lines_created_at``, in its order, so the cost is the lines deleted."""
    return (select(WebChatLineRow.id).where(WebChatLineRow.created_at < cutoff)
            .order_by(WebChatLineRow.created_at).limit(limit))


class SqlWebChatStore:
    def __init__(self, database: Database) -> None:
        self.database = database

    def _insert(self, values: dict[str, Any]) -> int | None:
        """Insert a line unless its unique key (outbox item, or client message id) is taken;
        its id, or None when it was there already."""
        with self.database.sessions() as session, session.begin():
            dialect = session.get_bind().dialect.name
            insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
            stmt = (insert(WebChatLineRow).values(**values).on_conflict_do_nothing()
                    .returning(WebChatLineRow.id))
            return session.scalar(stmt)

    def add_bot_line(self, outbox_id: int, address: str, payload: dict[str, Any],
                     now: datetime) -> int:
        new_id = self._insert({"address": address, "author": BOT_LINE, "payload": payload,
                               "outbox_id": outbox_id, "created_at": now})
        if new_id is not None:
            return new_id
        with self.database.sessions() as session:
            existing = session.scalar(select(WebChatLineRow.id).where(
                WebChatLineRow.outbox_id == outbox_id))
            if existing is None:
                raise LookupError(f"web chat line of outbox item {outbox_id} vanished")
            return existing

    def add_seller_line(self, address: str, client_id: str, payload: dict[str, Any],
                        now: datetime) -> bool:
        return self._insert({"address": address, "author": SELLER_LINE, "payload": payload,
                             "client_id": client_id, "created_at": now}) is not None

    def seller_line(self, address: str, client_id: str) -> WebChatLine | None:
        with self.database.sessions() as session:
            row = session.scalar(select(WebChatLineRow).where(
                WebChatLineRow.address == address, WebChatLineRow.client_id == client_id))
            return _line(row) if row is not None else None

    def unprocessed_seller_lines(self, written_before: datetime, written_after: datetime,
                                 limit: int) -> Sequence[tuple[str, str, WebChatLine]]:
        # The engine claims a web chat message as ("web", "web-<client id>"); a done claim
        # has no lease (bot.inbound_claims).
        done = exists().where(ProcessedEventRow.source == WEB,
                              ProcessedEventRow.event_id == literal("web-")
                              + WebChatLineRow.client_id,
                              ProcessedEventRow.lease_until.is_(None))
        later = aliased(WebChatLineRow)
        written_since = exists().where(later.address == WebChatLineRow.address,
                                       later.author == SELLER_LINE,
                                       later.id > WebChatLineRow.id)
        with self.database.sessions() as session:
            rows = session.scalars(select(WebChatLineRow).where(
                WebChatLineRow.created_at < written_before,
                WebChatLineRow.created_at > written_after,
                WebChatLineRow.author == SELLER_LINE, WebChatLineRow.client_id.is_not(None),
                ~done, ~written_since).order_by(WebChatLineRow.created_at).limit(limit)).all()
            return [(r.address, str(r.client_id), _line(r)) for r in rows]

    def delete_lines_before(self, cutoff: datetime, limit: int) -> int:
        """One bounded, set-based delete: the ids of the oldest ``limit`` lines before the
        cutoff (index ``ix_web_chat_lines_created_at``), deleted in one statement."""
        with self.database.sessions() as session, session.begin():
            result = session.execute(delete(WebChatLineRow).where(
                WebChatLineRow.id.in_(oldest_before(cutoff, limit).scalar_subquery())))
            return int(getattr(result, "rowcount", 0) or 0)

    def lines_after(self, address: str, after_id: int, limit: int) -> Sequence[WebChatLine]:
        with self.database.sessions() as session:
            rows = session.scalars(select(WebChatLineRow).where(
                WebChatLineRow.address == address, WebChatLineRow.id > after_id,
            ).order_by(WebChatLineRow.id).limit(limit)).all()
            return [_line(r) for r in rows]

    def last_lines(self, address: str, limit: int) -> Sequence[WebChatLine]:
        with self.database.sessions() as session:
            rows = session.scalars(select(WebChatLineRow).where(
                WebChatLineRow.address == address,
            ).order_by(WebChatLineRow.id.desc()).limit(limit)).all()
            return [_line(r) for r in reversed(rows)]

    def replies_on_lines(self, address: str, line_ids: Sequence[int]) -> list[int]:
        if not line_ids:
            return []
        with self.database.sessions() as session:
            rows = session.scalars(select(WebChatLineRow).where(
                WebChatLineRow.address == address, WebChatLineRow.id.in_(list(line_ids)),
                WebChatLineRow.author == BOT_LINE)).all()
            found = (_line(r).case_message_id for r in rows)
            return sorted({value for value in found if value is not None})

    def mark_replies_read(self, case_message_ids: Sequence[int], now: datetime) -> int:
        if not case_message_ids:
            return 0
        with self.database.sessions() as session, session.begin():
            result = session.execute(update(CaseMessageRow).where(
                CaseMessageRow.id.in_(list(case_message_ids)),
                CaseMessageRow.author_kind == d.AGENT,
                CaseMessageRow.internal.is_(False),
                CaseMessageRow.read_at.is_(None),
            ).values(read_at=now))
            return int(getattr(result, "rowcount", 0) or 0)
