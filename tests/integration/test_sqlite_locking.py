"""SQLite: writers take the write lock up front (no lock-upgrade failures); readers take none."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

from storage.database import Database
from storage.uow import SqlUnitOfWorkFactory


def test_readers_are_not_blocked_by_a_writer(sqlite_db: Database) -> None:
    factory = SqlUnitOfWorkFactory(sqlite_db)
    now = datetime(2026, 1, 1, tzinfo=UTC)
    with factory() as writer:
        writer.sellers.add(None, "Acme", now)  # holds the write lock, uncommitted
        seen: list[int] = []

        def read() -> None:
            with factory(read_only=True) as reader:
                seen.append(len(reader.cases.list_all(None, None, 10)))

        thread = threading.Thread(target=read)
        thread.start()
        thread.join(timeout=10)
        assert not thread.is_alive(), "a read-only unit of work waited for the writer"
        assert seen == [0]
        writer.commit()


def test_a_second_writer_waits_instead_of_failing(sqlite_db: Database) -> None:
    factory = SqlUnitOfWorkFactory(sqlite_db)
    now = datetime(2026, 1, 1, tzinfo=UTC)
    done = threading.Event()
    with factory() as first:
        first.sellers.add(None, "A", now)

        def write() -> None:
            with factory() as second:
                second.sellers.add(None, "B", now)
                second.commit()
            done.set()

        thread = threading.Thread(target=write)
        thread.start()
        assert not done.wait(0.3)  # blocked on BEGIN IMMEDIATE, not failed
        first.commit()
    thread.join(timeout=10)
    assert done.is_set()
