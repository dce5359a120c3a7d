"""One sweep batch as a unit of work that writes set-based.

The scheduler's rules (bot.sweeps, CaseService.apply_status, the relay) are written per case
against `bot.ports.UnitOfWork`. Run as they are over 500 claimed cases, they would send a few
statements per case: an INSERT per event and per outbox item, an UPDATE per status change, a
SELECT per seller, identity or evaluation. ``BatchUnitOfWork`` gives the same rules a view of
the real unit of work in which

- the batch's reads (its sellers, chats, linked cases and evaluations) were fetched up front
  in a few statements by the store (``BatchReads``), and
- case events, outbox items and case updates are kept in order in memory and written by the
  store at the end of the batch (``flush``) in a few multi-row statements.

So the rules, their texts and the items' order stay exactly the code that runs per case, and
only the number of round trips changes. Everything else passes through to the real unit of
work, and ``buffered=False`` writes straight through (the reference the tests compare with).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import datetime
from types import TracebackType
from typing import Any, Protocol, cast

from bot.domain import Case, CaseEvent, CaseThread, Evaluation, Identity, Seller
from bot.ports import (
    CaseRepository,
    CaseThreadRepository,
    DialogueRepository,
    EvaluationRepository,
    EventRepository,
    IdentityRepository,
    InboundRepository,
    InvitationRepository,
    MessageRepository,
    OutboxRepository,
    SellerRepository,
    UnitOfWork,
)
from bot.routing_port import RoutingRepository

_CASE_FIELDS = frozenset(f.name for f in fields(Case))


@dataclass
class BatchReads:
    """What a batch's rules read, fetched for the whole batch. A key present with None means
    "looked up: there is none" (an unrated case), so the rule does not ask storage again."""

    identities: dict[int, Identity] = field(default_factory=dict)
    sellers: dict[int, Seller] = field(default_factory=dict)
    cases: dict[int, Case] = field(default_factory=dict)
    evaluations: dict[int, Evaluation | None] = field(default_factory=dict)
    #: case id -> its events, oldest first (what a case card shows: where its thread was)
    events: dict[int, list[CaseEvent]] = field(default_factory=dict)
    #: case id -> (destination, address, platform message id) of its delivered rating prompt
    prompt_refs: dict[int, tuple[str, str, str]] = field(default_factory=dict)
    #: case id -> platform -> where the case is shown to agents there ({}: nowhere yet)
    threads: dict[int, dict[str, CaseThread]] = field(default_factory=dict)


@dataclass(frozen=True)
class NewEvent:
    case_id: int
    kind: str
    actor_kind: str
    actor_ref: str | None
    from_value: str | None
    to_value: str | None
    reason: str | None
    created_at: datetime


@dataclass(frozen=True)
class NewOutboxItem:
    destination: str
    kind: str
    payload: dict[str, Any]
    case_id: int | None
    ordering_key: str
    created_at: datetime


@dataclass
class BatchWrites:
    """A batch's writes in the order the rules made them (the outbox's order is the order
    items of one chat or one thread are delivered in)."""

    case_updates: dict[int, dict[str, Any]] = field(default_factory=dict)
    events: list[NewEvent] = field(default_factory=list)
    outbox: list[NewOutboxItem] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.case_updates or self.events or self.outbox)

    def clear(self) -> None:
        self.case_updates.clear()
        self.events.clear()
        self.outbox.clear()


class BatchWriter(Protocol):
    """The store's side: write a batch's buffered rows in a few statements."""

    def write_batch(self, uow: UnitOfWork, writes: BatchWrites) -> None: ...


class _Passthrough:
    def __init__(self, real: Any) -> None:
        self._real = real

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


class _Identities(_Passthrough):
    def __init__(self, real: IdentityRepository, reads: BatchReads) -> None:
        super().__init__(real)
        self._reads = reads

    def get(self, identity_id: int) -> Identity | None:
        if identity_id in self._reads.identities:
            return self._reads.identities[identity_id]
        return cast(IdentityRepository, self._real).get(identity_id)


class _Sellers(_Passthrough):
    def __init__(self, real: SellerRepository, reads: BatchReads) -> None:
        super().__init__(real)
        self._reads = reads

    def get(self, seller_id: int) -> Seller | None:
        if seller_id in self._reads.sellers:
            return self._reads.sellers[seller_id]
        return cast(SellerRepository, self._real).get(seller_id)


class _Evaluations(_Passthrough):
    def __init__(self, real: EvaluationRepository, reads: BatchReads) -> None:
        super().__init__(real)
        self._reads = reads

    def get(self, case_id: int) -> Evaluation | None:
        if case_id in self._reads.evaluations:
            return self._reads.evaluations[case_id]
        return cast(EvaluationRepository, self._real).get(case_id)


class _Threads(_Passthrough):
    def __init__(self, real: CaseThreadRepository, reads: BatchReads) -> None:
        super().__init__(real)
        self._reads = reads

    def get(self, case_id: int, platform: str) -> CaseThread | None:
        if case_id in self._reads.threads:
            return self._reads.threads[case_id].get(platform)
        return cast(CaseThreadRepository, self._real).get(case_id, platform)

    def for_cases(self, case_ids: Sequence[int], platform: str) -> Mapping[int, CaseThread]:
        if all(case_id in self._reads.threads for case_id in case_ids):
            return {case_id: self._reads.threads[case_id][platform] for case_id in case_ids
                    if platform in self._reads.threads[case_id]}
        return cast(CaseThreadRepository, self._real).for_cases(case_ids, platform)


class _Cases(_Passthrough):
    """Reads the batch's cases from memory; an update of one of them is kept for the flush
    and its result computed here (a plain column change, as storage would return it)."""

    def __init__(self, real: CaseRepository, reads: BatchReads, writes: BatchWrites,
                 buffered: bool) -> None:
        super().__init__(real)
        self._reads = reads
        self._writes = writes
        self._buffered = buffered

    def get(self, case_id: int) -> Case | None:
        if case_id in self._reads.cases:
            return self._reads.cases[case_id]
        return cast(CaseRepository, self._real).get(case_id)

    def update(self, case_id: int, **changes: Any) -> Case:
        known = self._reads.cases.get(case_id)
        if not self._buffered or known is None or not changes.keys() <= _CASE_FIELDS:
            updated = cast(CaseRepository, self._real).update(case_id, **changes)
        else:
            self._writes.case_updates.setdefault(case_id, {}).update(changes)
            updated = replace(known, **changes)
        self._reads.cases[case_id] = updated
        return updated


class _Events(_Passthrough):
    def __init__(self, real: EventRepository, reads: BatchReads, writes: BatchWrites,
                 buffered: bool) -> None:
        super().__init__(real)
        self._reads = reads
        self._writes = writes
        self._buffered = buffered
        self._added: dict[int, list[CaseEvent]] = {}

    def forget_added(self) -> None:
        self._added.clear()

    def for_case(self, case_id: int) -> Sequence[CaseEvent]:
        if case_id not in self._reads.events or not self._buffered:
            return cast(EventRepository, self._real).for_case(case_id)
        # Read for the batch, then what this batch added (not written yet: no id).
        return [*self._reads.events[case_id], *self._added.get(case_id, ())]

    def add(self, case_id: int, kind: str, actor_kind: str, actor_ref: str | None,
            from_value: str | None, to_value: str | None, reason: str | None,
            now: datetime) -> CaseEvent:
        if not self._buffered:
            return cast(EventRepository, self._real).add(
                case_id, kind, actor_kind, actor_ref, from_value, to_value, reason, now)
        self._writes.events.append(NewEvent(case_id, kind, actor_kind, actor_ref, from_value,
                                            to_value, reason, now))
        # Not written yet: no id. No sweep rule reads an event's id.
        added = CaseEvent(0, case_id, kind, actor_kind, actor_ref, from_value, to_value, reason,
                          now)
        self._added.setdefault(case_id, []).append(added)
        return added


class _Outbox(_Passthrough):
    def __init__(self, real: OutboxRepository, writes: BatchWrites, buffered: bool) -> None:
        super().__init__(real)
        self._writes = writes
        self._buffered = buffered

    def add(self, destination: str, kind: str, payload: Mapping[str, Any], case_id: int | None,
            ordering_key: str, now: datetime) -> int:
        if not self._buffered:
            return cast(OutboxRepository, self._real).add(
                destination, kind, payload, case_id, ordering_key, now)
        self._writes.outbox.append(
            NewOutboxItem(destination, kind, dict(payload), case_id, ordering_key, now))
        # A placeholder: the rules only ask whether something was queued (None means the
        # chat refuses messages); the real id exists after the flush.
        return -len(self._writes.outbox)


class BatchUnitOfWork:
    """`bot.ports.UnitOfWork` for one sweep batch over ``uow`` (see the module docstring).
    ``flush()`` writes what was buffered; ``commit()`` flushes, then commits ``uow``."""

    def __init__(self, uow: UnitOfWork, writer: BatchWriter, reads: BatchReads | None = None,
                 buffered: bool = True) -> None:
        self.real = uow
        self.reads = reads or BatchReads()
        self.writes = BatchWrites()
        self._writer = writer
        self.buffered = buffered
        self.cases = cast(CaseRepository, _Cases(uow.cases, self.reads, self.writes, buffered))
        self.identities = cast(IdentityRepository, _Identities(uow.identities, self.reads))
        self.sellers = cast(SellerRepository, _Sellers(uow.sellers, self.reads))
        self.evaluations = cast(EvaluationRepository, _Evaluations(uow.evaluations, self.reads))
        self._events = _Events(uow.events, self.reads, self.writes, buffered)
        self.events = cast(EventRepository, self._events)
        self.outbox = cast(OutboxRepository, _Outbox(uow.outbox, self.writes, buffered))

    def add_cases(self, cases: Sequence[Case]) -> None:
        """The batch's claimed cases: reads of them come from memory."""
        for case in cases:
            self.reads.cases[case.id] = case

    @property
    def invitations(self) -> InvitationRepository:
        return self.real.invitations

    @property
    def messages(self) -> MessageRepository:
        return self.real.messages

    @property
    def threads(self) -> CaseThreadRepository:
        return cast(CaseThreadRepository, _Threads(self.real.threads, self.reads))

    @property
    def inbound(self) -> InboundRepository:
        return self.real.inbound

    @property
    def dialogue(self) -> DialogueRepository:
        return self.real.dialogue

    @property
    def routing(self) -> RoutingRepository:
        return self.real.routing

    def flush(self) -> None:
        """Write what was buffered (the batch's events stay visible to ``events.for_case``)."""
        if self.writes:
            self._writer.write_batch(self.real, self.writes)
            self.writes.clear()

    def __enter__(self) -> BatchUnitOfWork:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        return None  # the real unit of work's own block rolls back

    def commit(self) -> None:
        self.flush()
        self.real.commit()

    def rollback(self) -> None:
        self.writes.clear()
        self._events.forget_added()
        self.real.rollback()
