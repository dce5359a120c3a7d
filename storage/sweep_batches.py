"""A sweep batch's reads and writes in a few statements each (see bot.sweep_batch).

Reads: the batch's chats, sellers, linked cases, evaluations and delivered rating prompts,
one ``IN`` query each. Writes: case updates grouped by the columns they change (one
``UPDATE ... WHERE id IN``, a ``CASE id WHEN`` for a column whose value differs per case), the
case events and the outbox items as multi-row ``INSERT``s in the order the rules made them,
so the ids (which order one chat's or one thread's deliveries) follow that order.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any, TypeVar, cast

from sqlalchemy import Table, case, insert, literal, select, text, update
from sqlalchemy.orm import Session

from bot import outbox as ob
from bot.domain import Case
from bot.sweep_batch import BatchReads, BatchWrites
from storage.models import CaseEventRow, CaseRow, EvaluationRow, IdentityRow, OutboxRow, SellerRow
from storage.notify import CHANNEL as OUTBOX_CHANNEL
from storage.outbox_repository import SqlOutboxRepository
from storage.row_mapping import (
    case_from_row,
    evaluation_from_row,
    identity_from_row,
    seller_from_row,
)

CASES = cast(Table, CaseRow.__table__)
IDENTITIES = cast(Table, IdentityRow.__table__)
SELLERS = cast(Table, SellerRow.__table__)
EVALUATIONS = cast(Table, EvaluationRow.__table__)
EVENTS = cast(Table, CaseEventRow.__table__)
OUTBOX = cast(Table, OutboxRow.__table__)
# Cases per UPDATE: with a CASE for a column, 3,000 parameters, well under SQLite's 32,766
# and PostgreSQL's 65,535, whatever FRONTDOOR_SWEEP_BATCH_SIZE is.
ROWS_PER_STATEMENT = 1000
# Domain names that are stored under another column (as SqlCaseRepository.update maps them).
_RENAMED = {"order_id": "order_key", "subject": "subject_key"}

T = TypeVar("T")


def chunks(items: Sequence[T], size: int = ROWS_PER_STATEMENT) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def cases_from_rows(rows: Iterable[Any]) -> list[Case]:
    """Cases from Core rows of ``cases``: a row has the ORM row's attribute names, and skips
    the ORM's identity map and instance state (most of a batch's read cost otherwise)."""
    return [case_from_row(cast(CaseRow, r)) for r in rows]


def read_batch(session: Session, cases: Sequence[Case], *, chats: bool, cards: bool,
               prompts: bool) -> BatchReads:
    """``chats``: the identities the cases were opened from and their sellers (what a
    message to the seller needs); ``cards``: what a case card shows (the seller, the case it
    reopens, its evaluation); ``prompts``: the delivered rating prompts (`rating_prompts`)."""
    reads = BatchReads()
    if not cases:
        return reads
    identity_ids = sorted({c.identity_id for c in cases if c.identity_id is not None})
    if (chats or prompts) and identity_ids:
        for ident in session.execute(select(IDENTITIES)
                                     .where(IDENTITIES.c.id.in_(identity_ids))):
            reads.identities[ident.id] = identity_from_row(cast(IdentityRow, ident))
    if chats or cards:
        seller_ids = sorted({c.seller_id for c in cases})
        for seller in session.execute(select(SELLERS).where(SELLERS.c.id.in_(seller_ids))):
            reads.sellers[seller.id] = seller_from_row(cast(SellerRow, seller))
    if cards:
        linked = sorted({c.reopened_from_id for c in cases if c.reopened_from_id is not None})
        if linked:
            for case in cases_from_rows(session.execute(
                    select(CASES).where(CASES.c.id.in_(linked)))):
                reads.cases[case.id] = case
        case_ids = [c.id for c in cases]
        reads.evaluations.update(dict.fromkeys(case_ids))  # None: looked up, not rated
        for ev in session.execute(select(EVALUATIONS)
                                  .where(EVALUATIONS.c.case_id.in_(case_ids))):
            reads.evaluations[ev.case_id] = evaluation_from_row(cast(EvaluationRow, ev))
    if prompts:
        reads.prompt_refs.update(rating_prompts(session, cases, reads))
    return reads


def rating_prompts(session: Session, cases: Sequence[Case],
                   reads: BatchReads) -> dict[int, tuple[str, str, str]]:
    """Per case: (destination, address, platform message id) of the newest delivered seller
    message of the case carrying its rating buttons. The chats' ordering keys and the status
    lead ix_outbox_ordering, so this reads those chats' delivered items, not the outbox."""
    chat_of: dict[int, tuple[str, str]] = {}  # case id -> (ordering key, address)
    for c in cases:
        ident = reads.identities.get(c.identity_id) if c.identity_id is not None else None
        if ident is not None:
            chat_of[c.id] = (f"{ident.channel}:chat:{ident.address}", ident.address)
    if not chat_of:
        return {}
    rows = session.execute(
        select(OutboxRow.case_id, OutboxRow.ordering_key, OutboxRow.destination,
               OutboxRow.platform_message_id, OutboxRow.payload)
        .where(OutboxRow.ordering_key.in_(sorted({k for k, _ in chat_of.values()})),
               OutboxRow.status == "sent", OutboxRow.case_id.in_(sorted(chat_of)),
               OutboxRow.kind == ob.SELLER_MESSAGE)
        .order_by(OutboxRow.id.desc()))
    by_number = {c.id: f"eval:{c.number}:" for c in cases}
    found: dict[int, tuple[str, str, str]] = {}
    for case_id, key, destination, message_id, payload in rows:
        if case_id in found or case_id not in chat_of or key != chat_of[case_id][0]:
            continue
        buttons = (payload.get("reply") or {}).get("buttons") or []
        if message_id and any(str(b.get("payload", "")).startswith(by_number[case_id])
                              for b in buttons):
            found[case_id] = (destination, chat_of[case_id][1], message_id)
    return found


# SQLite: built once; executed with a list of rows, SQLAlchemy's "insertmanyvalues" sends
# them as multi-row INSERTs of up to 1,000 rows from one cached compilation. Sorted by
# parameter order: the ids follow the order the rules queued the items in, which is the order
# a chat's or a thread's items are delivered in.
_ADD_EVENTS = insert(EVENTS).returning(EVENTS.c.id, sort_by_parameter_order=True)
_ADD_ITEMS = insert(OUTBOX).returning(OUTBOX.c.id, sort_by_parameter_order=True)
# PostgreSQL: the batch is one JSON parameter unpacked by the server, INSERT ... SELECT in
# the rows' order (thousands of placeholders cost psycopg more to parse than the insert
# costs the server). Both notify other processes' dispatchers on commit, once.
_PG_ADD_EVENTS = text(
    "INSERT INTO case_events (case_id, kind, actor_kind, actor_ref, from_value, to_value,"
    " reason, created_at)"
    " SELECT (e.v->>'case_id')::bigint, e.v->>'kind', e.v->>'actor_kind', e.v->>'actor_ref',"
    " e.v->>'from_value', e.v->>'to_value', e.v->>'reason', (e.v->>'created_at')::timestamptz"
    " FROM json_array_elements(CAST(:rows AS json)) WITH ORDINALITY AS e(v, n) ORDER BY e.n")
_PG_ADD_ITEMS = text(
    "WITH queued AS (INSERT INTO outbox (destination, kind, payload, case_id, ordering_key,"
    " status, attempts, next_attempt_at, created_at)"
    " SELECT e.v->>'destination', e.v->>'kind', e.v->'payload', (e.v->>'case_id')::bigint,"
    " e.v->>'ordering_key', 'pending', 0, (e.v->>'created_at')::timestamptz,"
    " (e.v->>'created_at')::timestamptz"
    " FROM json_array_elements(CAST(:rows AS json)) WITH ORDINALITY AS e(v, n) ORDER BY e.n"
    " RETURNING id)"
    f" SELECT count(*), pg_notify('{OUTBOX_CHANNEL}', '') FROM queued")


def write_batch(session: Session, outbox: SqlOutboxRepository, writes: BatchWrites) -> None:
    _update_cases(session, writes.case_updates)
    events = [{
        "case_id": e.case_id, "kind": e.kind, "actor_kind": e.actor_kind,
        "actor_ref": e.actor_ref, "from_value": e.from_value, "to_value": e.to_value,
        "reason": e.reason, "created_at": e.created_at} for e in writes.events]
    items = [{
        "destination": i.destination, "kind": i.kind, "payload": i.payload,
        "case_id": i.case_id, "ordering_key": i.ordering_key, "created_at": i.created_at}
        for i in writes.outbox]
    if session.get_bind().dialect.name == "postgresql":
        for rows, stmt in ((events, _PG_ADD_EVENTS), (items, _PG_ADD_ITEMS)):
            if rows:
                session.execute(stmt, {"rows": json.dumps(rows, default=_iso)})
    else:
        if events:
            session.execute(_ADD_EVENTS, events)
        if items:
            session.execute(_ADD_ITEMS, [
                {**item, "status": "pending", "attempts": 0,
                 "next_attempt_at": item["created_at"]} for item in items])
    if items:
        outbox.added = True  # this process's dispatcher is woken after the commit


def _iso(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


def _update_cases(session: Session, updates: Mapping[int, dict[str, Any]]) -> None:
    """One UPDATE per set of changed columns: a value shared by the group is one parameter,
    one that differs per case a ``CASE id WHEN ... THEN ... END`` (only the first-response
    deadline of an unanswered case leaving pending)."""
    groups: dict[tuple[str, ...], list[int]] = {}
    for case_id, changes in updates.items():
        groups.setdefault(tuple(sorted(changes)), []).append(case_id)
    for keys, all_ids in groups.items():
        for ids in chunks(all_ids):
            values: dict[str, Any] = {}
            for key in keys:
                column = CASES.c[_RENAMED.get(key, key)]
                given = [updates[i][key] for i in ids]
                if key in _RENAMED:
                    given = [v or "" for v in given]
                if all(v == given[0] for v in given):
                    values[column.name] = given[0]
                else:
                    values[column.name] = case(
                        {i: literal(v, column.type) for i, v in zip(ids, given, strict=True)},
                        value=CASES.c.id, else_=column)
            session.execute(update(CASES).where(CASES.c.id.in_(list(ids))).values(values))
