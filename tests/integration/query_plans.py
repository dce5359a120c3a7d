"""The plan a database chooses for a query, for tests that a query reads its index."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import text

from storage.database import Database


def plan_of(db: Database, query: Any, *, forbid_bitmap: bool = False) -> str:
    """The query's plan as text. On PostgreSQL sequential (and optionally bitmap) scans are
    switched off for it: tiny test tables make a scan cheapest, and the question is whether
    the index serves at all."""
    with db.engine.connect() as connection:
        compiled = query.compile(dialect=connection.dialect,
                                 compile_kwargs={"literal_binds": True})
        if db.dialect == "postgresql":
            connection.execute(text("SET LOCAL enable_seqscan = off"))
            if forbid_bitmap:
                connection.execute(text("SET LOCAL enable_bitmapscan = off"))
            return "\n".join(row[0] for row in connection.execute(text(f"EXPLAIN {compiled}")))
        return "\n".join(str(row[-1]) for row in connection.execute(
            text(f"EXPLAIN QUERY PLAN {compiled}")))


def assert_reads_index(plan: str, index: str, table: str, *, sorted_by_index: bool) -> None:
    """``plan`` uses ``index``, reads no whole ``table`` (neither PostgreSQL's nor SQLite's
    word for it) and, with ``sorted_by_index``, sorts nothing (the index gives the order)."""
    assert index in plan, plan
    assert "Seq Scan" not in plan and not re.search(rf"SCAN {table}(?! USING)", plan), plan
    if sorted_by_index:
        assert "TEMP B-TREE" not in plan and "Sort" not in plan, plan
