"""Case threads: where each case is shown to agents, one record per case and platform."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite

from bot.domain import Case, CaseThread
from storage.models import CaseRow, CaseThreadRow
from storage.repository_base import SqlRepository
from storage.row_mapping import case_from_row

# Case ids per IN list: well under SQLite's limit on bound parameters.
_IN_CHUNK = 500


def _thread(row: CaseThreadRow) -> CaseThread:
    return CaseThread(row.case_id, row.platform, row.channel, row.parent_message_id)


class SqlCaseThreadRepository(SqlRepository):
    def get(self, case_id: int, platform: str) -> CaseThread | None:
        row = self.session.get(CaseThreadRow, (case_id, platform))
        return _thread(row) if row is not None else None

    def find_case(self, platform: str, channel: str, parent_message_id: str) -> Case | None:
        row = self.session.scalar(
            select(CaseRow).join(CaseThreadRow, CaseThreadRow.case_id == CaseRow.id).where(
                CaseThreadRow.platform == platform, CaseThreadRow.channel == channel,
                CaseThreadRow.parent_message_id == parent_message_id))
        return case_from_row(row) if row else None

    def add(self, case_id: int, platform: str, channel: str, parent_message_id: str) -> bool:
        # A case's first parent is its thread; a second post (a retried delivery the platform
        # had already taken) must not move it, so an existing record wins.
        insert = postgresql.insert if self._pg else sqlite.insert
        added = self.session.scalar(
            insert(CaseThreadRow).values(case_id=case_id, platform=platform, channel=channel,
                                         parent_message_id=parent_message_id)
            .on_conflict_do_nothing().returning(CaseThreadRow.case_id))
        return added is not None

    def for_cases(self, case_ids: Sequence[int], platform: str) -> dict[int, CaseThread]:
        found: dict[int, CaseThread] = {}
        for start in range(0, len(case_ids), _IN_CHUNK):
            rows = self.session.scalars(select(CaseThreadRow).where(
                CaseThreadRow.platform == platform,
                CaseThreadRow.case_id.in_(case_ids[start:start + _IN_CHUNK])))
            found.update((row.case_id, _thread(row)) for row in rows)
        return found

    def remove(self, case_id: int, platform: str) -> bool:
        removed = self.session.scalar(
            delete(CaseThreadRow).where(CaseThreadRow.case_id == case_id,
                                        CaseThreadRow.platform == platform)
            .returning(CaseThreadRow.case_id))
        return removed is not None
