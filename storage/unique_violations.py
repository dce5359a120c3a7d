"""Which unique index an IntegrityError broke, read from what each driver reports about it.

Telling rule 1's violation (the partial unique index ``uq_cases_active_issue``) from any other
integrity error must not depend on the wording of a driver's message:

- PostgreSQL (psycopg) names the violated constraint or index in the error's diagnostics
  (``diag.constraint_name``), and the SQLSTATE says what kind of violation it was (23505).
- SQLite does not give an index's name for a unique index over plain columns: its message lists
  the columns, ``UNIQUE constraint failed: cases.seller_id, cases.case_type, ...`` (an index
  over expressions is named instead: ``UNIQUE constraint failed: index 'name'``). The columns
  listed are compared with the index's own columns, in order, as the model declares them, so
  another unique key of the same table (the case number, say) is never taken for it.
"""

from __future__ import annotations

from sqlalchemy import Index
from sqlalchemy.exc import IntegrityError

UNIQUE_VIOLATION_SQLSTATE = "23505"
SQLITE_UNIQUE_PREFIX = "UNIQUE constraint failed: "


def violates_unique_index(exc: IntegrityError, index: Index) -> bool:
    """Whether ``exc`` is a violation of the unique ``index`` (on PostgreSQL or SQLite)."""
    if index.name is None or index.table is None:
        raise ValueError("only a named index of a table can be recognised")
    orig = exc.orig
    diag = getattr(orig, "diag", None)
    if diag is not None:
        return (getattr(orig, "sqlstate", None) == UNIQUE_VIOLATION_SQLSTATE
                and getattr(diag, "constraint_name", None) == index.name)
    return _sqlite_names_index(str(orig), index)


def _sqlite_names_index(message: str, index: Index) -> bool:
    if not message.startswith(SQLITE_UNIQUE_PREFIX):
        return False
    failed = message[len(SQLITE_UNIQUE_PREFIX):].strip()
    if failed == f"index '{index.name}'":
        return True
    assert index.table is not None
    columns = [f"{index.table.name}.{column.name}" for column in index.columns]
    return [part.strip() for part in failed.split(",")] == columns
