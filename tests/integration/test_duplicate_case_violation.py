"""Rule 1's violation is recognised by the index it breaks, on SQLite and PostgreSQL: only the
one-active-case-per-issue index becomes DuplicateActiveCase; any other integrity error (a
repeated case number, say) stays what it is."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from bot.domain import NewCase
from bot.ports import DuplicateActiveCase
from storage.case_repository import ACTIVE_ISSUE_INDEX
from storage.database import Database
from storage.unique_violations import violates_unique_index
from storage.uow import SqlUnitOfWork

NOW = datetime(2026, 1, 1, tzinfo=UTC)
ORDER = "123-1234567-1234567"


def _case(seller_id: int, case_type: str, order_id: str | None) -> NewCase:
    return NewCase(seller_id, None, case_type, order_id, "t", "open", False, NOW, None)


def test_a_second_active_case_is_a_duplicate_by_index_name(db: Database) -> None:
    with SqlUnitOfWork(db) as uow:
        seller = uow.sellers.add(None, "Acme", NOW)
        uow.cases.add(_case(seller.id, "order", ORDER))
        with pytest.raises(DuplicateActiveCase) as raised:
            uow.cases.add(_case(seller.id, "order", ORDER))
        cause = raised.value.__cause__
        assert isinstance(cause, IntegrityError)
        assert violates_unique_index(cause, ACTIVE_ISSUE_INDEX)


def test_a_repeated_case_number_is_not_taken_for_a_duplicate_case(db: Database) -> None:
    with SqlUnitOfWork(db) as uow:
        seller = uow.sellers.add(None, "Acme", NOW)
        first = uow.cases.add(_case(seller.id, "order", ORDER))
        uow.commit()
    # The counter goes back (as after a bad restore): the next number is taken already.
    with db.engine.begin() as conn:
        conn.execute(text("UPDATE counters SET value = 0 WHERE name = 'case'"))
    with SqlUnitOfWork(db) as uow:
        with pytest.raises(IntegrityError) as raised:
            uow.cases.add(_case(seller.id, "payment", None))
        assert not isinstance(raised.value, DuplicateActiveCase)
        assert not violates_unique_index(raised.value, ACTIVE_ISSUE_INDEX)
        assert first.number == "CX-000001"


def test_updates_tell_a_duplicate_issue_from_another_violation(db: Database) -> None:
    with SqlUnitOfWork(db) as uow:
        seller = uow.sellers.add(None, "Acme", NOW)
        shipping = uow.cases.add(_case(seller.id, "shipping", ORDER))
        payment = uow.cases.add(_case(seller.id, "payment", ORDER))
        uow.commit()
    # Retyped onto the other active case's issue: rule 1.
    with SqlUnitOfWork(db) as uow, pytest.raises(DuplicateActiveCase):
        uow.cases.update(payment.id, case_type="shipping")
    with SqlUnitOfWork(db) as uow:
        # Given the other case's number: a different unique key, not rule 1.
        with pytest.raises(IntegrityError) as raised:
            uow.cases.update(payment.id, number=shipping.number)
        assert not isinstance(raised.value, DuplicateActiveCase)
        assert not violates_unique_index(raised.value, ACTIVE_ISSUE_INDEX)


@pytest.mark.parametrize(("message", "expected"), [
    ("UNIQUE constraint failed: cases.seller_id, cases.case_type, cases.order_key, "
     "cases.subject_key", True),
    ("UNIQUE constraint failed: index 'uq_cases_active_issue'", True),
    ("UNIQUE constraint failed: cases.number", False),
    ("UNIQUE constraint failed: cases.seller_id, cases.case_type", False),
    ("UNIQUE constraint failed: index 'uq_cases_number'", False),
    ("FOREIGN KEY constraint failed", False),
])
def test_sqlite_messages_are_matched_against_the_index_columns(message: str,
                                                               expected: bool) -> None:
    exc = IntegrityError("INSERT INTO cases ...", {}, sqlite3.IntegrityError(message))
    assert violates_unique_index(exc, ACTIVE_ISSUE_INDEX) is expected
