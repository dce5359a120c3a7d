"""One transaction for a whole seller's turn (bot.ports.TurnTransaction).

A turn may run several units of work: a rule's (the case opened, the message added) and the
engine's last one (the dialogue state and the replies). Committed one by one, a kill between
them left the work saved and the answer not, and the redelivery had to run the turn again
against its own work. Joined into one transaction, the turn is saved whole or not at all.

While a ``SqlTurnTransaction`` is current (a context variable, which ``asyncio.to_thread`` and
the engine's turn thread copy), a unit of work that writes joins its session as a savepoint:
its ``commit`` releases the savepoint (the work stays in the turn), leaving without it rolls
the savepoint back (a refused rule undoes only its own writes). A read-only unit joins once
the turn has written, so it sees the turn's own work (it writes nothing, so it needs no
savepoint); before that it reads on its own connection, and takes no lock. The turn's last
unit (``last_unit``: the dialogue state and the replies) needs none either: its commit is the
turn's.

The session is used by one thread at a time: the engine runs every database call of a turn on
the turn's own worker thread (bot.turn_threads says why).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from sqlalchemy.orm import Session

from bot.inbound_claims import DONE, LEASED, ClaimLost, current_claim
from storage.database import Database
from storage.turn_repositories import SqlInboundRepository


class SqlTurnTransaction:
    """Implements `bot.ports.TurnTransaction` on one database."""

    def __init__(self, database: Database, on_outbox_commit: Callable[[], None] | None,
                 make_last_unit: Callable[[SqlTurnTransaction], Any]) -> None:
        self.database = database
        self._on_outbox_commit = on_outbox_commit
        self._make_last_unit = make_last_unit
        self._session: Session | None = None
        self.outbox_added = False  # a joined unit queued outbox items: wake the dispatcher

    @contextmanager
    def current(self) -> Iterator[None]:
        token = _current.set(self)
        try:
            yield
        finally:
            _current.reset(token)

    def join(self, read_only: bool) -> Session | None:
        """The turn's session for a unit of work, begun by the first one that writes; None for
        a read before any write (it reads on its own)."""
        if self._session is None:
            if read_only:
                return None
            self._session = self.database.sessions()
        return self._session

    def last_unit(self) -> Any:
        return self._make_last_unit(self)

    def commit(self) -> None:
        claim = current_claim.get()
        session = self._session or self.database.sessions()
        self._session = session
        # The turn's work and answer are saved with the claim done, or not at all.
        if (claim is not None and claim.state == LEASED
                and not SqlInboundRepository(session).complete(claim)):
            self.rollback()
            raise ClaimLost(claim)
        session.commit()
        if claim is not None and claim.state == LEASED:
            claim.state = DONE
        if self.outbox_added and self._on_outbox_commit is not None:
            self.outbox_added = False
            self._on_outbox_commit()  # new outbox items are visible now

    def rollback(self) -> None:
        self.outbox_added = False
        self.close()

    def close(self) -> None:
        session, self._session = self._session, None
        if session is None:
            return
        try:
            session.rollback()
        finally:
            session.close()


_current: ContextVar[SqlTurnTransaction | None] = ContextVar("frontdoor_turn_transaction",
                                                             default=None)


def current_turn_transaction(database: Database) -> SqlTurnTransaction | None:
    """The turn transaction units of work on ``database`` join here, if any."""
    turn = _current.get()
    return turn if turn is not None and turn.database is database else None
