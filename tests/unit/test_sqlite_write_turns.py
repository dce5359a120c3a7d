"""Write transactions on SQLite take turns in the process (storage.sqlite_writes): the turn is
taken by BEGIN IMMEDIATE's transaction and handed on after its COMMIT or ROLLBACK, so the next
writer starts at once instead of sleeping in SQLite's busy handler."""

from __future__ import annotations

import contextlib
import sqlite3
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import text

from storage.database import Database
from storage.sqlite_writes import FIRST_IN_A_ROW, WriteTurns, writes_first


@pytest.fixture
def database(tmp_path: Path) -> Database:
    db = Database(f"sqlite:///{tmp_path / 'turns.db'}")
    with db.engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE t (n INTEGER)")
    return db


def turns_of(db: Database) -> WriteTurns:
    db.engine  # noqa: B018 - built lazily, with its turns
    assert db.write_turns is not None
    return db.write_turns


def test_commit_and_rollback_hand_the_turn_on(database: Database) -> None:
    turns = turns_of(database)
    with database.engine.connect() as conn:
        conn.begin()
        conn.execute(text("INSERT INTO t VALUES (1)"))
        assert turns.held
        conn.commit()
        assert not turns.held
        conn.begin()
        conn.execute(text("INSERT INTO t VALUES (2)"))
        conn.rollback()
        assert not turns.held
    with database.sessions() as session:
        assert session.execute(text("SELECT n FROM t")).scalars().all() == [1]


def test_a_failed_unit_of_work_hands_the_turn_on(database: Database) -> None:
    turns = turns_of(database)
    with pytest.raises(RuntimeError), database.sessions() as session, session.begin():
        session.execute(text("INSERT INTO t VALUES (3)"))
        raise RuntimeError("the work failed")
    assert not turns.held


def test_readers_take_no_turn(database: Database) -> None:
    turns = turns_of(database)
    with database.engine.connect().execution_options(**database.read_only_options) as conn:
        conn.begin()
        conn.execute(text("SELECT count(*) FROM t"))
        assert not turns.held
        conn.rollback()


def test_a_connection_invalidated_mid_transaction_hands_the_turn_on(database: Database) -> None:
    turns = turns_of(database)
    conn = database.engine.connect()
    conn.begin()
    conn.execute(text("INSERT INTO t VALUES (4)"))
    conn.invalidate()
    assert not turns.held
    conn.close()
    with database.engine.begin() as again:  # the next writer is not stuck behind it
        again.execute(text("INSERT INTO t VALUES (5)"))


def test_writers_in_many_threads_all_commit_once(database: Database) -> None:
    """Eight threads, 50 write transactions each, every one committed exactly once."""
    errors: list[BaseException] = []

    def writer(base: int) -> None:
        try:
            for i in range(50):
                with database.sessions() as session, session.begin():
                    session.execute(text("INSERT INTO t VALUES (:n)"), {"n": base + i})
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(1000 * k,)) for k in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    with database.sessions() as session:
        values = session.execute(text("SELECT n FROM t")).scalars().all()
    assert sorted(values) == sorted(1000 * k + i for k in range(8) for i in range(50))
    assert not turns_of(database).held


def test_writers_that_go_first_are_served_before_the_others(database: Database) -> None:
    """While one connection holds the turn, an ordinary writer and then an outbox writer
    (``writes_first``) wait; the outbox writer gets the turn next."""
    turns = turns_of(database)
    order: list[str] = []
    holder = database.engine.connect()
    holder.begin()
    holder.execute(text("INSERT INTO t VALUES (6)"))

    def write(name: str, first: bool) -> None:
        with contextlib.ExitStack() as stack:
            if first:
                stack.enter_context(writes_first())
            with database.sessions() as session, session.begin():
                session.execute(text("INSERT INTO t VALUES (7)"))
                order.append(name)

    ordinary = threading.Thread(target=write, args=("ordinary", False))
    ordinary.start()
    time.sleep(0.2)  # the ordinary writer is waiting before the outbox writer comes
    outbox = threading.Thread(target=write, args=("outbox", True))
    outbox.start()
    time.sleep(0.2)
    assert order == []
    holder.commit()
    holder.close()
    ordinary.join(10)
    outbox.join(10)
    assert order == ["outbox", "ordinary"]
    assert not turns.held


def test_outbox_writers_cannot_starve_the_others() -> None:
    """With outbox writers always waiting, an ordinary writer still gets a turn after at most
    FIRST_IN_A_ROW of them."""
    turns = WriteTurns(wait_seconds=10)
    holder = object()
    turns.take(holder)
    served: list[str] = []
    lock = threading.Lock()

    def write(name: str, first: bool) -> None:
        me = object()
        turns.take(me, first=first)
        with lock:
            served.append(name)
        turns.hand_on(me)

    threads = [threading.Thread(target=write, args=("ordinary", False))]
    threads += [threading.Thread(target=write, args=(f"outbox{i}", True)) for i in range(20)]
    for thread in threads:
        thread.start()
        time.sleep(0.01)  # queued in this order
    turns.hand_on(holder)
    for thread in threads:
        thread.join(10)
    assert len(served) == 21
    assert served.index("ordinary") == FIRST_IN_A_ROW
    assert not turns.held


def test_a_writer_interrupted_while_waiting_leaves_the_queue() -> None:
    turns = WriteTurns(wait_seconds=0.2)
    holder, quitter = object(), object()
    turns.take(holder)
    with pytest.raises(sqlite3.OperationalError):
        turns.take(quitter)  # gives up after 0.2 s and leaves the queue
    turns.hand_on(holder)
    assert not turns.held  # nobody was left in the queue to be handed a turn they never use


def test_a_turn_handed_on_from_inside_the_mutex_does_not_deadlock() -> None:
    """A garbage collection while the mutex is held may finalise a forgotten connection that
    holds the turn, and its reset hands the turn on in the same thread."""
    turns = WriteTurns(wait_seconds=1)
    forgotten = object()
    turns.take(forgotten)
    done = threading.Event()

    def collect_under_the_mutex() -> None:
        with turns._mutex:  # as if a collection ran here
            turns.hand_on(forgotten)
        done.set()

    thread = threading.Thread(target=collect_under_the_mutex, daemon=True)
    thread.start()
    assert done.wait(5)
    assert not turns.held


class _SlowlySetEvent(threading.Event):
    """An Event whose ``set`` is descheduled a moment first, as a thread switch can do."""

    def set(self) -> None:
        time.sleep(0.3)
        super().set()


def test_a_writer_handed_the_turn_as_its_wait_runs_out_keeps_it(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """``hand_on`` takes the next waiter off the queue under the mutex and sets its event
    after: a wait that runs out in between must find the turn granted, not fail leaving the
    turn held by nobody who will use it."""
    import storage.sqlite_writes as write_turns

    granting = write_turns._Waiter.__init__

    def slowly_granted(self: write_turns._Waiter, identity: int) -> None:
        granting(self, identity)
        self.granted = _SlowlySetEvent()

    monkeypatch.setattr(write_turns._Waiter, "__init__", slowly_granted)
    turns = WriteTurns(wait_seconds=0.2)
    holder, waiter = object(), object()
    turns.take(holder)
    outcome: list[str] = []

    def wait_for_the_turn() -> None:
        try:
            turns.take(waiter)
            outcome.append("granted")
        except Exception as exc:  # what the caller would see instead of the turn
            outcome.append(type(exc).__name__)

    thread = threading.Thread(target=wait_for_the_turn)
    thread.start()
    time.sleep(0.15)  # handed on just before the waiter's 0.2 s run out
    turns.hand_on(holder)
    thread.join(5)
    assert outcome == ["granted"]
    turns.hand_on(waiter)
    assert not turns.held
