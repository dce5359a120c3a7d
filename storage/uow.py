"""The SQLAlchemy unit of work: one session, one transaction, all repositories (or, inside a
seller's turn, a savepoint of the turn's transaction: storage.turn_transaction)."""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType

from sqlalchemy.orm import Session, SessionTransaction

from bot.inbound_claims import DONE, LEASED, ClaimLost, current_claim
from storage.database import Database
from storage.database_failures import database_unavailable
from storage.email_repository import SqlSellerEmailRepository
from storage.outbox_repository import SqlOutboxRepository
from storage.repositories import (
    SqlCaseRepository,
    SqlDialogueRepository,
    SqlEvaluationRepository,
    SqlEventRepository,
    SqlIdentityRepository,
    SqlInboundRepository,
    SqlInvitationRepository,
    SqlMessageRepository,
    SqlSellerRepository,
)
from storage.routing_queries import SqlRoutingRepository
from storage.thread_repository import SqlCaseThreadRepository
from storage.turn_transaction import SqlTurnTransaction, current_turn_transaction


class SqlUnitOfWork:
    """Implements `bot.ports.UnitOfWork`. Leaving the block without commit() rolls back."""

    session: Session
    _turn: SqlTurnTransaction | None
    _savepoint: SessionTransaction | None
    _savepoint_open: bool

    def __init__(self, database: Database, case_prefix: str = "CX",
                 on_outbox_commit: Callable[[], None] | None = None,
                 read_only: bool = False, ends_turn: SqlTurnTransaction | None = None) -> None:
        self._database = database
        self._prefix = case_prefix
        self._on_outbox_commit = on_outbox_commit
        self._read_only = read_only
        self._ends_turn = ends_turn

    def __enter__(self) -> SqlUnitOfWork:
        turn = self._ends_turn or current_turn_transaction(self._database)
        joined = turn.join(self._read_only) if turn is not None else None
        self._turn = turn if joined is not None else None
        self._savepoint, self._savepoint_open = None, False
        if joined is not None:
            self.session = joined
            if not (self._read_only or self._ends_turn):
                self._begin_savepoint()
        else:
            self.session = self._database.sessions()
            if self._read_only:
                self.session.connection(execution_options=self._database.read_only_options)
        s = self.session
        self.sellers = SqlSellerRepository(s)
        self.identities = SqlIdentityRepository(s)
        self.invitations = SqlInvitationRepository(s)
        self.cases = SqlCaseRepository(s, self._prefix)
        self.threads = SqlCaseThreadRepository(s)
        self.messages = SqlMessageRepository(s)
        self.events = SqlEventRepository(s)
        self.evaluations = SqlEvaluationRepository(s)
        self.outbox = SqlOutboxRepository(s)
        self.inbound = SqlInboundRepository(s)
        self.dialogue = SqlDialogueRepository(s)
        self.routing = SqlRoutingRepository(s)
        self.emails = SqlSellerEmailRepository(s)
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._turn is not None:
            try:
                if self._savepoint_open:
                    self._end_savepoint(keep=False)  # this unit's writes only; the turn goes on
            except Exception:
                if exc is None:
                    raise
                # The connection failed with the error in flight: that error says more, and
                # the turn's transaction is lost with it.
            return
        try:
            self.session.rollback()
        finally:
            self.session.close()

    def commit(self) -> None:
        if self._turn is not None:
            # Kept for the turn, which commits it with its answer (storage.turn_transaction).
            if self._savepoint_open:
                self._end_savepoint(keep=True)
            self._turn.outbox_added |= self.outbox.added
            self.outbox.added = False
            if self._ends_turn is not None:
                self._turn.commit()
            return
        claim = None if self._read_only else current_claim.get()
        # The work of an inbound event marks its claim done in the same transaction: both
        # are saved, or neither (see bot.inbound_claims).
        marks = claim is not None and claim.state == LEASED
        if claim is not None and marks and not self.inbound.complete(claim):
            self.session.rollback()
            raise ClaimLost(claim)
        # On PostgreSQL the outbox inserts themselves NOTIFY the other processes' dispatchers
        # (delivered only if the transaction commits): see SqlOutboxRepository.
        self.session.commit()
        if claim is not None and marks:
            claim.state = DONE
        if self.outbox.added and self._on_outbox_commit is not None:
            self.outbox.added = False
            # Wake the dispatcher: new outbox items are visible now.
            self._on_outbox_commit()

    def rollback(self) -> None:
        if self._turn is not None:
            # Undo this unit's writes and go on in a new savepoint (a rule that lost a race
            # reads what won it). The turn's last unit has none: it undoes the turn; a reader
            # has nothing to undo.
            if self._savepoint is None:
                if self._ends_turn is not None:
                    self._turn.rollback()
                return
            if self._savepoint_open:
                self._end_savepoint(keep=False)
            self._begin_savepoint()
            return
        self.session.rollback()

    def _begin_savepoint(self) -> None:
        self._savepoint = self.session.begin_nested()
        self._savepoint_open = True

    def _end_savepoint(self, keep: bool) -> None:
        # Rolled back even when a failed flush has already deactivated it: until then the
        # session refuses every later statement of the turn.
        assert self._savepoint is not None
        self._savepoint_open = False
        if keep:
            self._savepoint.commit()
        else:
            self._savepoint.rollback()


class SqlUnitOfWorkFactory:
    """Makes units of work on one database (what the services are given)."""

    def __init__(self, database: Database, case_prefix: str = "CX",
                 on_outbox_commit: Callable[[], None] | None = None) -> None:
        self.database = database
        self.case_prefix = case_prefix
        self.on_outbox_commit = on_outbox_commit

    def __call__(self, read_only: bool = False) -> SqlUnitOfWork:
        return SqlUnitOfWork(self.database, self.case_prefix, self.on_outbox_commit, read_only)

    def one_transaction(self) -> SqlTurnTransaction:
        return SqlTurnTransaction(self.database, self.on_outbox_commit, self._last_unit)

    def _last_unit(self, turn: SqlTurnTransaction) -> SqlUnitOfWork:
        return SqlUnitOfWork(self.database, self.case_prefix, self.on_outbox_commit,
                             ends_turn=turn)

    def is_outage(self, exc: BaseException) -> bool:
        return database_unavailable(exc)
