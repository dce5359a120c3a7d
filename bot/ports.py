"""Ports the rules need from storage: repositories behind a unit of work.

`storage/` implements them over SQLAlchemy; nothing in `bot/` imports SQLAlchemy.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import TracebackType
from typing import Any, Protocol

from bot.domain import (
    Case,
    CaseEvent,
    CaseMessage,
    CaseThread,
    Evaluation,
    Identity,
    Invitation,
    NewCase,
    Seller,
)
from bot.inbound_claims import InboundClaim
from bot.outbox import DeliveryResult, SellerCopy
from bot.routing_port import RoutingRepository


class DuplicateActiveCase(Exception):
    """Storage refused a second active case on one issue (the partial unique index fired)."""


class SellerRepository(Protocol):
    def get(self, seller_id: int) -> Seller | None: ...
    def add(self, merchant_id: int | None, display_name: str, now: datetime) -> Seller:
        """Create a seller; with merchant_id None a new merchant is created (main account)."""
        ...
    def set_preferences(self, seller_id: int, language: str | None,
                        time_zone: str | None) -> None:
        """Store the seller's language and/or time zone (None: leave that one as it is)."""
        ...


class IdentityRepository(Protocol):
    def get(self, identity_id: int) -> Identity | None: ...
    def find(self, channel: str, external_id: str) -> Identity | None: ...
    def find_by_address(self, channel: str, address: str) -> Identity | None:
        """The user whose chat on ``channel`` is ``address``."""
        ...
    def ensure(
        self, channel: str, external_id: str, address: str, display_name: str | None, now: datetime
    ) -> Identity:
        """The identity for this platform user, created on first contact (race-safe)."""
        ...
    def link_seller(self, identity_id: int, seller_id: int) -> None: ...
    def set_blocked(self, identity_id: int, when: datetime | None) -> bool:
        """Block (a time) or unblock (None); False when it already was: nothing changed."""
    def for_seller(self, seller_id: int) -> Sequence[Identity]: ...


class InvitationRepository(Protocol):
    def add(
        self, code: str, seller_name: str, merchant_id: int | None, expires_at: datetime,
        created_by: str | None, now: datetime,
    ) -> Invitation: ...
    def get_by_code_for_update(self, code: str) -> Invitation | None: ...
    def creator_of(self, invitation_id: int) -> str | None: ...
    def mark_used(self, invitation_id: int, seller_id: int, now: datetime) -> None: ...
    def add_request(self, identity_id: int, note: str, now: datetime) -> int: ...
    def request_ids_of(self, identity_id: int) -> Sequence[int]: ...
    def get_request_for_update(self, request_id: int) -> tuple[int, str] | None:
        """(identity id, note) of a request, locked until the transaction ends."""
    def existing_codes(self, codes: Sequence[str]) -> set[str]: ...
    def list_requests(self) -> Sequence[dict[str, Any]]: ...


class CaseRepository(Protocol):
    def add(self, new: NewCase) -> Case:
        """Insert with a freshly allocated number; raises DuplicateActiveCase on rule 1."""
        ...
    def get(self, case_id: int) -> Case | None: ...
    def get_by_number(self, number: str, lock: bool = False) -> Case | None:
        """With ``lock``: read and lock the row until the unit of work ends."""
        ...
    def get_for_update(self, case_id: int) -> Case | None:
        """Read and lock the row until the unit of work ends."""
        ...
    def find_active(self, seller_id: int, case_type: str, order_id: str | None,
                    subject: str | None = None) -> Case | None: ...
    def find_declined(self, seller_id: int, case_type: str, order_id: str | None,
                      subject: str | None = None) -> Case | None: ...
    def same_type(self, seller_id: int, case_type: str, order_id: str | None,
                  statuses: Sequence[str]) -> Sequence[Case]:
        """The seller's cases of this type and order (any subject) in ``statuses``, newest
        first: where a case of a type without an order looks for its issue."""
        ...
    def find_declined_with_order(self, seller_id: int, order_id: str) -> Case | None:
        """The newest declined case of any type on this order (rule 4 for untyped cases)."""
        ...
    def update(self, case_id: int, **changes: Any) -> Case: ...
    def list_for_seller(
        self, seller_id: int, statuses: Sequence[str] | None, query: str | None, limit: int
    ) -> Sequence[Case]: ...
    def list_all(self, statuses: Sequence[str] | None, query: str | None, limit: int) -> Sequence[Case]: ...
    def count_created_since(self, seller_id: int, since: datetime) -> int: ...


class CaseThreadRepository(Protocol):
    """Where cases are shown to agents, per platform (`bot.domain.CaseThread`)."""

    def get(self, case_id: int, platform: str) -> CaseThread | None: ...
    def find_case(self, platform: str, channel: str, parent_message_id: str) -> Case | None:
        """The case whose thread hangs from this message (a reply in it names the parent)."""
        ...
    def add(self, case_id: int, platform: str, channel: str, parent_message_id: str) -> bool:
        """Record the case's thread on ``platform``; False if it has one there already."""
        ...
    def remove(self, case_id: int, platform: str) -> bool:
        """Forget the case's thread on ``platform`` (its parent moves); False if none."""
        ...
    def for_cases(self, case_ids: Sequence[int], platform: str) -> Mapping[int, CaseThread]:
        """The threads of these cases on ``platform`` (cases without one are left out)."""
        ...


class MessageRepository(Protocol):
    def add(
        self, case_id: int, author_kind: str, author_ref: str | None, author_name: str | None,
        text: str, attachments: Sequence[dict[str, Any]], internal: bool, now: datetime,
    ) -> CaseMessage: ...
    def get(self, message_id: int) -> CaseMessage | None: ...
    def for_case(self, case_id: int, include_internal: bool) -> Sequence[CaseMessage]: ...
    def last_visible_agent_reply(self, case_id: int) -> CaseMessage | None: ...
    def cases_mentioning(self, words: Sequence[str], statuses: Sequence[str] | None,
                         limit: int) -> Sequence[int]:
        """Ids of cases (in ``statuses``, None: any) with a message, notes included, holding
        every one of ``words`` (case-insensitive), newest activity first."""
        ...
    def unread_counts(self, case_ids: Sequence[int]) -> dict[int, int]: ...
    def mark_read(self, case_ids: Sequence[int], now: datetime) -> int: ...
    def edit(self, message_id: int, text: str, now: datetime) -> CaseMessage: ...
    def add_ref(
        self, platform: str, chat_id: str, message_id: str, case_id: int,
        case_message_id: int | None,
    ) -> None:
        """Remember where a message landed on a platform, so replies and edits find their case."""
        ...
    def find_ref(self, platform: str, chat_id: str, message_id: str) -> tuple[int, int | None] | None: ...


class EventRepository(Protocol):
    def add(
        self, case_id: int, kind: str, actor_kind: str, actor_ref: str | None,
        from_value: str | None, to_value: str | None, reason: str | None, now: datetime,
    ) -> CaseEvent: ...
    def for_case(self, case_id: int) -> Sequence[CaseEvent]: ...


class EvaluationRepository(Protocol):
    def get(self, case_id: int) -> Evaluation | None: ...
    def add(self, case_id: int, level: str, reason: str | None, now: datetime,
            reason_code: str | None = None) -> Evaluation: ...
    def set_reason(self, case_id: int, reason_code: str, reason: str | None) -> Evaluation: ...


class OutboxRepository(Protocol):
    def add(
        self, destination: str, kind: str, payload: Mapping[str, Any], case_id: int | None,
        ordering_key: str, now: datetime,
    ) -> int: ...
    def complete(self, item_id: int, attempts: int, result: DeliveryResult, now: datetime,
                 retry_at: datetime | None, dead: bool) -> bool:
        """Record a delivery; False when the item was recorded already (not pending)."""
        ...
    def drop_pending_of_chat(self, item_id: int, reason: str) -> int:
        """Dead-letter the pending items of ``item_id``'s chat (it takes no messages)."""
        ...
    def seller_copies(self, case_id: int, case_message_id: int) -> Sequence[SellerCopy]:
        """The items that carried (or are to carry) a case message to the seller."""
        ...
    def take_backs(self, case_id: int, case_message_id: int) -> Mapping[int, str]:
        """The items taking a case message's copies back from the seller (SELLER_DELETE):
        item id -> status."""
        ...
    def withdraw(self, item_id: int, reason: str, now: datetime) -> bool:
        """Withdraw an item that never reached its chat, for good: pending and held by no
        dispatcher, or dead-lettered (so no operator's retry sends it). False if it is sent
        or in flight."""
        ...


class InboundRepository(Protocol):
    """Leases on inbound platform events (see bot.inbound_claims)."""

    def claim(self, source: str, event_id: str, now: datetime,
              lease: timedelta) -> InboundClaim | None:
        """Lease the event; None if it is done, or leased by a live attempt."""
        ...
    def in_progress(self, source: str, event_id: str) -> bool:
        """Whether the event is leased (being worked on, or its attempt died), not done."""
        ...
    def complete(self, claim: InboundClaim) -> bool:
        """Mark the event done, in the caller's transaction (the one that saves its work).
        False if the lease was taken over by another attempt."""
        ...
    def release(self, claim: InboundClaim) -> None:
        """Give a claim back (its attempt failed before any work), so a redelivery is
        processed at once instead of after the lease."""
        ...


@dataclass(frozen=True)
class Conversation:
    """Who is writing and where their dialogue stands, read at the start of a turn."""

    identity: Identity
    seller: Seller | None
    state: dict[str, Any]


class DialogueRepository(Protocol):
    def load(self, channel: str, external_id: str) -> dict[str, Any]: ...
    def lock(self, channel: str, external_id: str, now: datetime) -> dict[str, Any]:
        """The saved state ({} for none), its row locked until the transaction ends, so that
        another process's turn of the same user waits to save. A user with no row gets an
        empty one, or there would be nothing to lock."""
        ...
    def save(self, channel: str, external_id: str, state: dict[str, Any], now: datetime) -> None:
        """Insert or replace the state of this user's dialogue."""
        ...
    def start(
        self, channel: str, external_id: str, address: str, display_name: str | None,
        now: datetime,
    ) -> Conversation:
        """The identity (created on first contact, address and name kept current), its seller
        and the dialogue state: what a turn starts from, in as few statements as possible."""
        ...


class UnitOfWork(Protocol):
    """One transaction. Leaving the `with` block without `commit()` rolls back."""

    @property
    def sellers(self) -> SellerRepository: ...
    @property
    def identities(self) -> IdentityRepository: ...
    @property
    def invitations(self) -> InvitationRepository: ...
    @property
    def cases(self) -> CaseRepository: ...
    @property
    def threads(self) -> CaseThreadRepository: ...
    @property
    def messages(self) -> MessageRepository: ...
    @property
    def events(self) -> EventRepository: ...
    @property
    def evaluations(self) -> EvaluationRepository: ...
    @property
    def outbox(self) -> OutboxRepository: ...
    @property
    def inbound(self) -> InboundRepository: ...
    @property
    def dialogue(self) -> DialogueRepository: ...
    @property
    def routing(self) -> RoutingRepository: ...

    def __enter__(self) -> UnitOfWork: ...
    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...
    def commit(self) -> None: ...
    def rollback(self) -> None: ...


class TurnTransaction(Protocol):
    """One database transaction for a whole seller's turn (bot.engine): while it is current,
    every unit of work the factory makes that writes joins it as a savepoint, and every read
    after the first write joins it too (to see the turn's work). A unit's ``commit`` then keeps
    its work for the turn, and only ``commit`` here (or the last unit's) saves it, with the
    event's claim done, or nothing is saved."""

    def current(self) -> AbstractContextManager[None]:
        """Make this the transaction units of work join, in this context and the worker
        threads it starts."""
        ...
    def last_unit(self) -> UnitOfWork:
        """The turn's last unit of work: it joins the turn without a savepoint of its own, and
        its ``commit`` is the turn's ``commit``."""
        ...
    def commit(self) -> None:
        """Save everything joined so far and complete the current inbound claim (raises
        ClaimLost, saving nothing, if a redelivery took the event over)."""
        ...
    def rollback(self) -> None:
        """Discard everything joined so far; a later unit of work starts a new transaction."""
        ...
    def close(self) -> None:
        """Discard what is not committed and give the connection back."""
        ...


class UnitOfWorkFactory(Protocol):
    def __call__(self, read_only: bool = False) -> UnitOfWork:
        """A new unit of work; ``read_only`` ones take no write lock (SQLite)."""
        ...

    def one_transaction(self) -> TurnTransaction:
        """A transaction for a whole turn (see TurnTransaction); not yet begun."""
        ...

    def is_outage(self, exc: BaseException) -> bool:
        """Whether ``exc`` means the database could not be used just now (a lost connection,
        a lock or statement timeout, a failover): the work is to be tried again, it is no
        bug to answer with an apology."""
        ...
