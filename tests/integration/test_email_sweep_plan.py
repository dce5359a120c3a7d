"""The email sweep reads only its due range: on both databases the plan of its claim uses the
partial index ``ix_case_messages_unread_notice`` (not a scan of every message), so its cost
does not grow with the messages already read or settled."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from sqlalchemy import text

from storage.database import Database
from storage.email_notice_queries import unread_due


def test_the_unread_claim_reads_the_partial_index(db: Database) -> None:
    query = unread_due(datetime(2026, 11, 30, tzinfo=UTC), 500, locking=db.dialect == "postgresql")
    with db.engine.connect() as connection:
        compiled = query.compile(dialect=connection.dialect,
                                 compile_kwargs={"literal_binds": True})
        if db.dialect == "postgresql":
            # Tiny test tables make a scan cheapest; forbid it to ask whether the index serves.
            connection.execute(text("SET LOCAL enable_seqscan = off"))
            plan = "\n".join(row[0] for row in connection.execute(text(f"EXPLAIN {compiled}")))
        else:
            plan = "\n".join(str(row[-1]) for row in connection.execute(
                text(f"EXPLAIN QUERY PLAN {compiled}")))
    assert "ix_case_messages_unread_notice" in plan, plan
    # Neither PostgreSQL's nor SQLite's word for reading the whole table.
    assert "Seq Scan" not in plan and not re.search(r"SCAN case_messages(?! USING)", plan), plan
    assert "TEMP B-TREE" not in plan  # the index gives the order: no sort of the due set
