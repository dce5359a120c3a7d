"""Bulk-loading the case store benchmark's lookup table in SQL (``generate_series`` on
PostgreSQL, a recursive CTE on SQLite), with rows that are a pure function of their index so
that Python knows which issues exist."""

from __future__ import annotations

import time

from sqlalchemy import text

from bot.labels import CASE_TYPES
from storage.database import Database

# Bulk rows are a pure function of their index i, so Python knows which issues exist:
#   order  = i // 3 (three cases per order, of three different types)
#   seller = hash(order) % sellers  (an order belongs to one seller)
#   type   = CASE_TYPES[(7 i) % 10]
#   status = by i % 100: 1-4 open, 5-8 investigating, 9-10 pending, 11-12 resolved,
#            13-15 declined, else closed; i % 100 in {0, 50}: closed with no order id.
_HASH = 2654435761


def issue_of(i: int, seller_base: int, sellers: int) -> tuple[int, str, str | None, str]:
    """(seller id, case type, order id, status) of bulk row ``i``."""
    b = i % 100
    status = ("closed" if b == 0 or b > 15 else "open" if b <= 4 else "investigating" if b <= 8
              else "pending" if b <= 10 else "resolved" if b <= 12 else "declined")
    order = None if b in (0, 50) else f"ORD-{i // 3}"
    seller = seller_base + 1 + ((i // 3) * _HASH) % sellers
    return seller, CASE_TYPES[(7 * i) % len(CASE_TYPES)], order, status


def _bulk_sql(dialect: str) -> tuple[str, str, str]:
    """(merchants+sellers SQL, cases SQL, series) for ``dialect``; :a..:b is the index range."""
    types = " ".join(f"WHEN {k} THEN '{name}'" for k, name in enumerate(CASE_TYPES))
    status = ("CASE WHEN i % 100 BETWEEN 1 AND 4 THEN 'open' "
              "WHEN i % 100 BETWEEN 5 AND 8 THEN 'investigating' "
              "WHEN i % 100 BETWEEN 9 AND 10 THEN 'pending' "
              "WHEN i % 100 BETWEEN 11 AND 12 THEN 'resolved' "
              "WHEN i % 100 BETWEEN 13 AND 15 THEN 'declined' ELSE 'closed' END")
    order = "CASE WHEN i % 100 IN (0, 50) THEN '' ELSE 'ORD-' || (i / 3) END"
    if dialect == "postgresql":
        series = "(SELECT g AS i FROM generate_series(CAST(:a AS bigint), CAST(:b AS bigint)) AS g)"
        ts = "now() - make_interval(days => CAST(1 + i % 700 AS int))"
        true = "true"
    else:
        series = ("(WITH RECURSIVE s(i) AS (SELECT :a UNION ALL SELECT i + 1 FROM s WHERE i < :b) "
                  "SELECT i FROM s)")
        ts = "datetime('now', '-' || (1 + i % 700) || ' days')"
        true = "1"
    now = "now()" if dialect == "postgresql" else "datetime('now')"
    people = (
        f"INSERT INTO merchants (id, name, created_at) SELECT i, 'Merchant ' || i, {now} "
        f"FROM {series} AS x;"
        f"INSERT INTO sellers (id, merchant_id, display_name, is_main, created_at) "
        f"SELECT i, i, 'Seller ' || i, {true}, {now} FROM {series} AS x"
    )
    cases = (
        "INSERT INTO cases (number, seller_id, case_type, order_key, title, status, created_at, "
        "updated_at, status_changed_at, closed_at) "
        f"SELECT 'BULK-' || i, :seller_base + 1 + ((i / 3) * {_HASH}) % :sellers, "
        f"CASE (7 * i) % 10 {types} END, {order}, 'Bulk case ' || i, {status}, "
        f"{ts}, {ts}, {ts}, CASE WHEN i % 100 > 15 OR i % 100 = 0 THEN {ts} END "
        f"FROM {series} AS x"
    )
    return people, cases, series


def bulk_load_sellers(db: Database, count: int) -> int:
    """Insert ``count`` merchants and main sellers after the existing ones; returns the id base."""
    people, _, _ = _bulk_sql(db.dialect)
    with db.engine.begin() as conn:
        base = int(conn.execute(text("SELECT COALESCE(MAX(id), 0) FROM sellers")).scalar() or 0)
        base = max(base, int(conn.execute(text("SELECT COALESCE(MAX(id), 0) FROM merchants"))
                             .scalar() or 0))
        for stmt in people.split(";"):
            conn.execute(text(stmt), {"a": base + 1, "b": base + count})
        if db.dialect == "postgresql":
            for table in ("merchants", "sellers"):
                conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                  f"(SELECT MAX(id) FROM {table}))"))
    return base


def bulk_load_cases(db: Database, start: int, stop: int, seller_base: int, sellers: int,
                    chunk: int = 250_000) -> float:
    """Insert bulk rows ``start..stop`` (inclusive) in chunks; returns the seconds taken."""
    _, cases, _ = _bulk_sql(db.dialect)
    t0 = time.perf_counter()
    for a in range(start, stop + 1, chunk):
        b = min(stop, a + chunk - 1)
        with db.engine.begin() as conn:
            conn.execute(text(cases), {"a": a, "b": b, "seller_base": seller_base,
                                       "sellers": sellers})
    if db.dialect == "postgresql":
        with db.engine.begin() as conn:
            conn.execute(text("SELECT setval(pg_get_serial_sequence('cases', 'id'), "
                              "(SELECT MAX(id) FROM cases))"))
        # What autovacuum does shortly after a load like this.
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("ANALYZE cases"))
    return time.perf_counter() - t0
