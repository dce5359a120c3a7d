"""The email sweep reads only its due range: on both databases the plan of its claim uses the
partial index ``ix_case_messages_unread_notice`` (not a scan of every message), so its cost
does not grow with the messages already read or settled."""

from __future__ import annotations

from datetime import UTC, datetime

from storage.database import Database
from storage.email_notice_queries import unread_due
from tests.integration.query_plans import assert_reads_index, plan_of


def test_the_unread_claim_reads_the_partial_index(db: Database) -> None:
    query = unread_due(datetime(2026, 11, 30, tzinfo=UTC), 500, locking=db.dialect == "postgresql")
    plan = plan_of(db, query)
    assert_reads_index(plan, "ix_case_messages_unread_notice", "case_messages",
                       sorted_by_index=False)
    assert "TEMP B-TREE" not in plan  # the index gives the order: no sort of the due set
