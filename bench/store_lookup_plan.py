"""The plan of the active-case lookup: the statement `SqlCaseRepository.find_active` really
sends, EXPLAINed (on PostgreSQL also as the generic plan of a prepared statement), and the
check that fails loudly when it is not answered from an index led by the issue key."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql as pgsql
from sqlalchemy import event
from sqlalchemy.engine import make_url

from storage.database import Database
from storage.repositories import SqlCaseRepository

ISSUE_INDEXES = frozenset({"ix_cases_issue", "uq_cases_active_issue"})


class PlanError(AssertionError):
    """The active-case lookup is not answered from an index."""


def check_plan(dialect: str, plan: str, allowed: frozenset[str] = ISSUE_INDEXES) -> str:
    """The index the plan reads ``cases`` through.

    Raises PlanError on a full scan, and on an index outside ``allowed`` (the indexes led by
    the issue key seller_id, case_type, order_key): an index on the seller or the status alone
    still reads a number of rows that grows with the table.
    """
    if dialect == "postgresql":
        if re.search(r"Seq Scan on cases\b", plan):
            raise PlanError(f"find_active does a sequential scan of cases:\n{plan}")
        found = re.search(r"Index (?:Only )?Scan using (\w+) on cases\b", plan) or re.search(
            r"Bitmap Index Scan on (\w+)", plan)
    else:
        if re.search(r"\bSCAN cases\b(?! USING)", plan):
            raise PlanError(f"find_active scans the whole cases table:\n{plan}")
        found = re.search(r"SEARCH cases USING (?:COVERING )?INDEX (\w+)", plan)
    if not found:
        raise PlanError(f"find_active uses no index on cases:\n{plan}")
    if found.group(1) not in allowed:
        raise PlanError(f"find_active reads cases through {found.group(1)}, which is not led by "
                        f"the issue key (expected one of {sorted(allowed)}):\n{plan}")
    return found.group(1)


@dataclass(frozen=True)
class Plans:
    """The lookup query and its plans (PostgreSQL: with the values, and the generic plan that
    a prepared statement may switch to after five executions)."""

    sql: str
    plan: str
    index: str
    generic_plan: str | None = None
    generic_index: str | None = None


def _capture_find_active_sql(db: Database, seller_id: int, case_type: str,
                             order_id: str | None) -> tuple[str, Any]:
    """The statement and parameters `SqlCaseRepository.find_active` really sends."""
    seen: list[tuple[str, Any]] = []

    def grab(_conn: Any, _cur: Any, statement: str, parameters: Any, _ctx: Any, _many: bool) -> None:
        if "FROM cases" in statement:
            seen.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", grab)
    try:
        with db.sessions() as session:
            SqlCaseRepository(session, "CX").find_active(seller_id, case_type, order_id)
    finally:
        event.remove(db.engine, "before_cursor_execute", grab)
    if len(seen) != 1:
        raise RuntimeError(f"expected one query from find_active, saw {len(seen)}")
    return seen[0]


def explain_find_active(db: Database, seller_id: int, case_type: str,
                        order_id: str | None) -> Plans:
    """EXPLAIN the real lookup statement and check that it reads an index."""
    sql, params = _capture_find_active_sql(db, seller_id, case_type, order_id)
    if db.dialect != "postgresql":
        with db.engine.connect() as conn:
            rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql, params).all()
        plan = "\n".join(str(r[-1]) for r in rows)
        return Plans(sql, plan, check_plan("sqlite", plan))
    with db.engine.connect() as conn:
        plan = "\n".join(r[0] for r in conn.exec_driver_sql("EXPLAIN " + sql, params).all())
    index = check_plan("postgresql", plan)
    # The generic plan: placeholders instead of values, as a prepared statement may use.
    names: list[str] = []

    def number(m: re.Match[str]) -> str:
        if m.group(1) not in names:
            names.append(m.group(1))
        return f"${names.index(m.group(1)) + 1}"

    prepared = re.sub(r"%\((\w+)\)s", number, sql)
    dsn = make_url(db.url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(dsn, autocommit=True) as pg:
        pg.execute("SET plan_cache_mode = force_generic_plan")
        pg.execute(pgsql.SQL("PREPARE fd_find_active AS ") + pgsql.SQL(prepared))
        args = pgsql.SQL(", ").join(pgsql.Literal(params[n]) for n in names)
        generic_rows = pg.execute(
            pgsql.SQL("EXPLAIN EXECUTE fd_find_active({})").format(args)).fetchall()
    generic = "\n".join(r[0] for r in generic_rows)
    return Plans(sql, plan, index, generic, check_plan("postgresql", generic))
