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

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Dialect,
    String,
    Table,
    any_,
    bindparam,
    case,
    literal,
    select,
    text,
    update,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

from bot import outbox as ob
from bot.domain import Case, CaseThread
from bot.sweep_batch import BatchReads, BatchWrites
from storage.models import (
    CaseEventRow,
    CaseRow,
    CaseThreadRow,
    EvaluationRow,
    IdentityRow,
    OutboxRow,
    SellerRow,
)
from storage.notify import CHANNEL as OUTBOX_CHANNEL
from storage.outbox_repository import SqlOutboxRepository
from storage.row_mapping import (
    case_from_row,
    evaluation_from_row,
    event_from_row,
    identity_from_row,
    seller_from_row,
)

CASES = cast(Table, CaseRow.__table__)
IDENTITIES = cast(Table, IdentityRow.__table__)
SELLERS = cast(Table, SellerRow.__table__)
EVALUATIONS = cast(Table, EvaluationRow.__table__)
EVENTS = cast(Table, CaseEventRow.__table__)
THREADS = cast(Table, CaseThreadRow.__table__)
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


def among(session: Session, column: ColumnElement[Any], values: Sequence[Any]
          ) -> ColumnElement[bool]:
    """``column IN values``; on PostgreSQL ``column = ANY(array)``, one parameter: an IN list
    of a whole batch is 500 placeholders for SQLAlchemy to render and psycopg to parse, on
    every statement (the plan is the same index search)."""
    if session.get_bind().dialect.name != "postgresql":
        return column.in_(values)
    item = String() if values and isinstance(values[0], str) else BigInteger()
    return column == any_(bindparam(None, list(values), type_=postgresql.ARRAY(item)))


def cases_from_rows(rows: Iterable[Any]) -> list[Case]:
    """Cases from Core rows of ``cases``: a row has the ORM row's attribute names, and skips
    the ORM's identity map and instance state (most of a batch's read cost otherwise)."""
    return [case_from_row(cast(CaseRow, r)) for r in rows]


def read_batch(session: Session, cases: Sequence[Case], *, chats: bool, cards: bool,
               prompts: bool, threads: bool = False) -> BatchReads:
    """``chats``: the identities the cases were opened from and their sellers (what a
    message to the seller needs); ``cards``: what a case card shows (the seller, the case it
    reopens, its evaluation, its events); ``prompts``: the delivered rating prompts (`rating_prompts`)."""
    reads = BatchReads()
    if not cases:
        return reads
    identity_ids = sorted({c.identity_id for c in cases if c.identity_id is not None})
    if (chats or prompts) and identity_ids:
        for ident in session.execute(select(IDENTITIES)
                                     .where(among(session, IDENTITIES.c.id, identity_ids))):
            reads.identities[ident.id] = identity_from_row(cast(IdentityRow, ident))
    if chats or cards:
        seller_ids = sorted({c.seller_id for c in cases})
        for seller in session.execute(select(SELLERS).where(among(session, SELLERS.c.id, seller_ids))):
            reads.sellers[seller.id] = seller_from_row(cast(SellerRow, seller))
    if cards:
        linked = sorted({c.reopened_from_id for c in cases if c.reopened_from_id is not None})
        if linked:
            for case in cases_from_rows(session.execute(
                    select(CASES).where(among(session, CASES.c.id, linked)))):
                reads.cases[case.id] = case
        case_ids = [c.id for c in cases]
        reads.evaluations.update(dict.fromkeys(case_ids))  # None: looked up, not rated
        for ev in session.execute(select(EVALUATIONS)
                                  .where(among(session, EVALUATIONS.c.case_id, case_ids))):
            reads.evaluations[ev.case_id] = evaluation_from_row(cast(EvaluationRow, ev))
        reads.events.update({case_id: [] for case_id in case_ids})
        for row in session.execute(select(EVENTS).where(among(session, EVENTS.c.case_id, case_ids))
                                   .order_by(EVENTS.c.case_id, EVENTS.c.id)):
            reads.events[row.case_id].append(event_from_row(cast(CaseEventRow, row)))
    if prompts:
        reads.prompt_refs.update(rating_prompts(session, cases, reads))
    if threads:
        case_ids = [c.id for c in cases]
        reads.threads.update({case_id: {} for case_id in case_ids})
        for row in session.execute(select(THREADS)
                                   .where(among(session, THREADS.c.case_id, case_ids))):
            reads.threads[row.case_id][row.platform] = CaseThread(
                row.case_id, row.platform, row.channel, row.parent_message_id)
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
        .where(among(session, OUTBOX.c.ordering_key, sorted({k for k, _ in chat_of.values()})),
               OutboxRow.status == "sent", among(session, OUTBOX.c.case_id, sorted(chat_of)),
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


# PostgreSQL: a batch's rows go in as one JSON parameter that the server unpacks, INSERT ...
# SELECT in the rows' order, so the ids follow the order the rules queued the items in: the
# order a chat's or a thread's items are delivered in. (Thousands of placeholders would cost
# psycopg more to parse than the insert costs the server.)
_EVENT_COLUMNS = ("case_id", "kind", "actor_kind", "actor_ref", "from_value", "to_value",
                  "reason", "created_at")
_ITEM_COLUMNS = ("destination", "kind", "payload", "case_id", "ordering_key", "created_at")
_PG_ADD_EVENTS = text(
    "INSERT INTO case_events (case_id, kind, actor_kind, actor_ref, from_value, to_value,"
    " reason, created_at)"
    " SELECT case_id, kind, actor_kind, actor_ref, from_value, to_value, reason, created_at"
    " FROM ROWS FROM (json_to_recordset(CAST(:rows AS json)) AS (case_id bigint, kind text,"
    " actor_kind text, actor_ref text, from_value text, to_value text, reason text,"
    " created_at timestamptz)) WITH ORDINALITY AS e(case_id, kind, actor_kind, actor_ref,"
    " from_value, to_value, reason, created_at, n) ORDER BY n")
# Also wakes other processes' dispatchers when the transaction commits (once).
_PG_ADD_ITEMS = text(
    "WITH queued AS (INSERT INTO outbox (destination, kind, payload, case_id, ordering_key,"
    " status, attempts, next_attempt_at, created_at)"
    " SELECT destination, kind, payload, case_id, ordering_key, 'pending', 0, created_at,"
    " created_at"
    " FROM ROWS FROM (json_to_recordset(CAST(:rows AS json)) AS (destination text, kind text,"
    " payload json, case_id bigint, ordering_key text, created_at timestamptz))"
    " WITH ORDINALITY AS i(destination, kind, payload, case_id, ordering_key, created_at, n)"
    " ORDER BY n RETURNING id)"
    f" SELECT count(*), pg_notify('{OUTBOX_CHANNEL}', '') FROM queued")
# SQLite: one prepared INSERT run for every row by the driver (executemany, in the rows'
# order). In process there is no round trip to save, and it skips what a JSON parameter costs
# on both sides: encoding the rows here (an item's payload twice) and unpacking them there.
# Measured on a 10,000-case sweep: see docs/benchmarks.md, "Scheduler sweeps".
_SQLITE_ADD_EVENTS = (
    f"INSERT INTO case_events ({', '.join(_EVENT_COLUMNS)}) VALUES "
    f"({', '.join('?' for _ in _EVENT_COLUMNS)})")
_SQLITE_ADD_ITEMS = (
    f"INSERT INTO outbox ({', '.join(_ITEM_COLUMNS)}, status, attempts, next_attempt_at) "
    f"VALUES ({', '.join('?' for _ in _ITEM_COLUMNS)}, 'pending', 0, ?)")


def write_batch(session: Session, outbox: SqlOutboxRepository, writes: BatchWrites) -> None:
    _update_cases(session, writes.case_updates)
    dialect = session.get_bind().dialect
    if dialect.name == "postgresql":
        events = [{
            "case_id": e.case_id, "kind": e.kind, "actor_kind": e.actor_kind,
            "actor_ref": e.actor_ref, "from_value": e.from_value, "to_value": e.to_value,
            "reason": e.reason, "created_at": e.created_at} for e in writes.events]
        items = [{
            "destination": i.destination, "kind": i.kind, "payload": i.payload,
            "case_id": i.case_id, "ordering_key": i.ordering_key, "created_at": i.created_at}
            for i in writes.outbox]
        for rows, stmt in ((events, _PG_ADD_EVENTS), (items, _PG_ADD_ITEMS)):
            if rows:
                session.execute(stmt, {"rows": json.dumps(rows, default=_iso)})
    else:
        connection = session.connection()
        if writes.events:
            connection.exec_driver_sql(_SQLITE_ADD_EVENTS, _stored(
                [(e.case_id, e.kind, e.actor_kind, e.actor_ref, e.from_value, e.to_value,
                  e.reason, e.created_at) for e in writes.events],
                EVENTS, _EVENT_COLUMNS, dialect))
        if writes.outbox:
            # next_attempt_at: due at once, like created_at (the last parameter)
            connection.exec_driver_sql(_SQLITE_ADD_ITEMS, _stored(
                [(i.destination, i.kind, i.payload, i.case_id, i.ordering_key, i.created_at,
                  i.created_at) for i in writes.outbox],
                OUTBOX, (*_ITEM_COLUMNS, "next_attempt_at"), dialect))
    if writes.outbox:
        outbox.added = True  # this process's dispatcher is woken after the commit


def _iso(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


def _stored(rows: list[tuple[Any, ...]], table: Table, columns: Sequence[str],
            dialect: Dialect) -> list[tuple[Any, ...]]:
    """``rows`` (values in the order of ``columns``) with each value as its column's type
    stores it (SQLite: a datetime as UTC text, a JSON payload as its text), so what the
    driver inserts is what an ORM insert writes. Columns stored as given pass untouched."""
    converting = [(n, proc) for n, name in enumerate(columns)
                  if (proc := table.c[name].type.dialect_impl(dialect).bind_processor(dialect))
                  is not None]
    # A batch's rows share a handful of times (its "now"): each is converted once.
    converted: dict[tuple[int, datetime], Any] = {}
    out = []
    for row in rows:
        values = list(row)
        for n, proc in converting:
            value = values[n]
            if value is None:
                continue
            if isinstance(value, datetime):
                if (n, value) not in converted:
                    converted[n, value] = proc(value)
                values[n] = converted[n, value]
            else:
                values[n] = proc(value)
        out.append(tuple(values))
    return out


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
            session.execute(update(CASES).where(among(session, CASES.c.id, list(ids))).values(values))
