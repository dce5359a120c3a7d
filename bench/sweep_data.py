"""The sweeps benchmark's data: a case table of production shape and what surrounds it.

N cases (ten per seller), most of them closed, with the tables a sweep reads besides
``cases`` filled the way a running service fills them: evaluations (40% of closed cases and
some of the resolved ones are rated), ``sweep_marks`` (resolved cases past their evaluation
window are already marked, as the sweep leaves them) and delivered outbox items (the rating
prompt of every resolved case, a reply for some closed ones). A fraction of the cases is due,
spread evenly and split across ``DUE_KINDS``; some of the due cases reopen an older case.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, bindparam, select, text, update
from sqlalchemy.engine import Engine

from bot import outbox as ob
from storage.models import CaseRow

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
CASES_PER_SELLER = 10
DUE_KINDS = ("reminder1", "reminder2", "auto_close_pending", "fr_warning", "fr_breach",
             "auto_close_resolved", "evaluation_expiry")
COLUMNS = ("id", "number", "seller_id", "identity_id", "case_type", "order_key", "title",
           "status", "urgent", "needs_human", "keep_open_count", "created_at", "updated_at",
           "status_changed_at", "first_response_due_at", "first_response_at", "pending_since",
           "auto_close_at", "resolved_at", "closed_at", "reminders_sent", "first_response_warning_sent",
           "first_response_breach_sent", "reopened_from_id")
H = timedelta(hours=1)
D = timedelta(days=1)
CASES = cast(Table, CaseRow.__table__)
RESOLVED_KINDS = ("resolved_fresh", "resolved_expired", "auto_close_resolved",
                  "evaluation_expiry")


def sellers_for(rows: int) -> int:
    return max(10, rows // CASES_PER_SELLER)


def case_row(i: int, kind: str, sellers: int) -> dict[str, Any]:
    """One case of ``kind``: a background state (not due) or one of ``DUE_KINDS``."""
    created = NOW - 10 * D
    seller = i % sellers + 1
    row: dict[str, Any] = {
        "id": i, "number": f"CX-{i:07d}", "seller_id": seller, "identity_id": seller,
        "case_type": "payment", "order_key": f"O{i}", "title": "Payments", "status": "closed",
        "urgent": False, "needs_human": False, "keep_open_count": 0, "created_at": created,
        "updated_at": created, "status_changed_at": created + 5 * D,
        "first_response_due_at": created + 24 * H, "first_response_at": created + 2 * H,
        "pending_since": None, "auto_close_at": None, "resolved_at": None, "closed_at": None,
        "reminders_sent": 0, "first_response_warning_sent": False,
        "first_response_breach_sent": False,
        "reopened_from_id": None,
    }

    def pending(since: datetime, sent: int, close: datetime | None = None) -> None:
        row.update(status="pending", pending_since=since, status_changed_at=since,
                   reminders_sent=sent, auto_close_at=close or since + 7 * D)

    def unanswered(opened: datetime, warned: bool = False) -> None:
        row.update(status="open", created_at=opened, status_changed_at=opened,
                   first_response_at=None, first_response_due_at=opened + 24 * H,
                   first_response_warning_sent=warned)

    def resolved(at: datetime, close: datetime) -> None:
        row.update(status="resolved", resolved_at=at, status_changed_at=at, auto_close_at=close)

    match kind:
        case "closed":
            row["closed_at"] = row["status_changed_at"]
        case "investigating":
            row["status"] = "investigating"
        case "pending_fresh":
            pending(NOW - 2 * H, 0)
        case "pending_reminded":
            pending(NOW - 4 * D, 2)
        case "resolved_fresh":
            resolved(NOW - D, NOW + 6 * D)
        case "resolved_expired":
            resolved(NOW - 5 * D, NOW + 2 * D)
        case "open_fresh":
            unanswered(NOW - 4 * H)
        case "reminder1":
            pending(NOW - 25 * H, 0)
        case "reminder2":
            pending(NOW - 73 * H, 1)
        case "auto_close_pending":
            pending(NOW - 7 * D - H, 2)
        case "fr_warning":
            unanswered(NOW - 20 * H)
        case "fr_breach":
            unanswered(NOW - 25 * H, warned=True)
        case "auto_close_resolved":
            resolved(NOW - 7 * D - H, NOW - H)
        case "evaluation_expiry":
            resolved(NOW - 4 * D - H, NOW + 3 * D - H)
    if kind in DUE_KINDS and i % 3 == 0 and i > 1:
        row["reopened_from_id"] = i - 1  # a reopened case: its card names the old one
    return row


def background(i: int) -> str:
    slot = i % 100
    if slot < 85:
        return "closed"
    if slot < 93:
        return "investigating"
    if slot < 97:
        return "pending_fresh" if slot % 2 else "pending_reminded"
    if slot == 98:
        return "resolved_expired" if i % 200 < 100 else "resolved_fresh"
    return "resolved_fresh" if slot < 99 else "open_fresh"


def plan(rows: int, due: int) -> tuple[list[int], dict[int, str]]:
    """Ids of the due cases (spread evenly) and the kind of each."""
    step = rows // due if due else rows + 1
    due_ids = [i for i in range(1, rows + 1) if (i - 1) % step == 0][:due]
    return due_ids, {i: DUE_KINDS[n % len(DUE_KINDS)] for n, i in enumerate(due_ids)}


def _rating_prompt(number: str) -> dict[str, Any]:
    return {"address": "", "case_message_id": None, "reply": {
        "text": f"How did we do on {number}?", "case_number": number,
        "buttons": [{"label": level, "payload": f"eval:{number}:{level}"}
                    for level in ("like", "so_so", "disappointing")]}}


def surrounding_rows(case: dict[str, Any], kind: str
                     ) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """(evaluations, sweep marks, delivered outbox items) of one case."""
    i, number = case["id"], case["number"]
    evaluations: list[tuple[Any, ...]] = []
    marks: list[tuple[Any, ...]] = []
    items: list[tuple[Any, ...]] = []
    chat = f"telegram:chat:u{case['identity_id']}"
    sent = NOW - 3 * D
    if kind in RESOLVED_KINDS:
        prompt = _rating_prompt(number)
        prompt["address"] = f"u{case['identity_id']}"
        items.append(("telegram", ob.SELLER_MESSAGE, prompt, i, chat, sent, f"m{i}"))
    if kind == "closed" and i % 5 < 2 or kind == "auto_close_resolved" and i % 2 == 0:
        evaluations.append((i, "like", None, None, case["status_changed_at"]))
    if kind == "resolved_expired" or kind == "auto_close_resolved" and not evaluations:
        # Their window ended days ago: the sweep has marked them (keyed on the resolution).
        marks.append((i, "evaluation_expired", case["resolved_at"], NOW - D))
    if kind == "closed" and i % 10 == 3:
        items.append(("telegram", ob.SELLER_MESSAGE, {
            "address": f"u{case['identity_id']}", "case_message_id": None,
            "reply": {"text": "Thanks, we are on it.", "buttons": [], "case_number": number}},
            i, chat, sent, f"m{i}"))
    return evaluations, marks, items


TABLES: dict[str, tuple[str, ...]] = {
    "cases": COLUMNS,
    "evaluations": ("case_id", "level", "reason_code", "reason", "created_at"),
    "sweep_marks": ("case_id", "kind", "due_at", "created_at"),
    "outbox": ("destination", "kind", "payload", "case_id", "ordering_key", "created_at",
               "platform_message_id", "status", "attempts", "next_attempt_at", "sent_at"),
    # Every case's parent is posted (its Slack thread) and its history starts with an event.
    "case_threads": ("case_id", "platform", "channel", "parent_message_id"),
    "case_events": ("case_id", "kind", "actor_kind", "actor_ref", "from_value", "to_value",
                    "reason", "created_at"),
}


def generate(rows: int, due_kinds: dict[int, str]) -> Iterator[tuple[str, tuple[Any, ...]]]:
    """(table, row) for every case and what surrounds it, in id order."""
    sellers = sellers_for(rows)
    for i in range(1, rows + 1):
        kind = due_kinds.get(i) or background(i)
        case = case_row(i, kind, sellers)
        yield "cases", tuple(case[c] for c in COLUMNS)
        evaluations, marks, items = surrounding_rows(case, kind)
        for e in evaluations:
            yield "evaluations", e
        for m in marks:
            yield "sweep_marks", m
        for item in items:
            yield "outbox", (*item, "sent", 1, item[5], item[5])
        yield "case_threads", (i, "slack", "C_SUPPORT", f"{1_700_000_000 + i}.000100")
        yield "case_events", (i, "status", "agent", "U1", "open", case["status"], None,
                              case["status_changed_at"])


def _pg_text(v: Any) -> str:
    if v is None:
        return "\\N"
    if isinstance(v, bool):
        return "t" if v else "f"
    if isinstance(v, datetime):
        return v.isoformat()
    if isinstance(v, dict):
        return json.dumps(v).replace("\\", "\\\\")
    return str(v)


def _sqlite_value(v: Any) -> Any:
    # The text form SQLAlchemy's SQLite DateTime stores (UTC, no offset).
    if isinstance(v, datetime):
        return v.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(v, dict):
        return json.dumps(v)
    return int(v) if isinstance(v, bool) else v


def load(engine: Engine, rows: int, due: int) -> list[int]:
    """Fill a migrated database in bulk (COPY on PostgreSQL, executemany on SQLite), the
    indexes of the filled tables built afterwards; returns the due case ids."""
    pg = engine.dialect.name == "postgresql"
    due_ids, due_kinds = plan(rows, due)
    sellers = sellers_for(rows)
    indexed = [CaseRow.metadata.tables[n] for n in TABLES]
    with engine.begin() as conn:
        for table in indexed:
            for index in table.indexes:
                index.drop(conn)
        people = [{"i": i, "n": f"S{i}", "e": f"u{i}", "t": NOW} for i in range(1, sellers + 1)]
        conn.execute(text("INSERT INTO merchants (id, name, created_at) VALUES (:i, :n, :t)"),
                     people)
        conn.execute(text("INSERT INTO sellers (id, merchant_id, display_name, is_main,"
                          " created_at) VALUES (:i, :i, :n, true, :t)"), people)
        conn.execute(text("INSERT INTO identities (id, channel, external_id, address, seller_id,"
                          " created_at) VALUES (:i, 'telegram', :e, :e, :i, :t)"), people)
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        if pg:
            # One COPY at a time per connection: a pass over the rows per table, the cases
            # first (the other rows reference them).
            for wanted, columns in TABLES.items():
                with cur.copy(f"COPY {wanted} ({', '.join(columns)}) FROM STDIN") as stream:
                    lines: list[str] = []
                    for name, values in generate(rows, due_kinds):
                        if name == wanted:
                            lines.append("\t".join(_pg_text(v) for v in values) + "\n")
                        if len(lines) == 50_000:
                            stream.write("".join(lines))
                            lines = []
                    stream.write("".join(lines))
        else:
            cur.execute("BEGIN")
            batches: dict[str, list[tuple[Any, ...]]] = {name: [] for name in TABLES}
            sql = {name: f"INSERT INTO {name} ({', '.join(cols)}) VALUES "
                         f"({', '.join('?' for _ in cols)})" for name, cols in TABLES.items()}

            def flush() -> None:  # the cases first: the other rows reference them
                for name, batch in batches.items():
                    cur.executemany(sql[name], batch)
                    batch.clear()

            for name, values in generate(rows, due_kinds):
                batches[name].append(tuple(_sqlite_value(v) for v in values))
                if len(batches["cases"]) == 50_000:
                    flush()
            flush()
            cur.execute("COMMIT")
        raw.commit()
    finally:
        raw.close()
    with engine.begin() as conn:
        for table in indexed:
            for index in table.indexes:
                index.create(conn)
        if pg:
            conn.execute(text("INSERT INTO counters (name, value) VALUES ('case', :n)"),
                         {"n": rows})
            for name in ("outbox", "evaluations", "sweep_marks", "case_events"):
                conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                                  f"coalesce((SELECT max(id) FROM {name}), 0) + 1, false)"))
    vacuum(engine)
    return due_ids


# Resetting between runs ----------------------------------------------------------------------
def snapshot(engine: Engine, ids: list[int]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    with engine.connect() as conn:
        for start in range(0, len(ids), 5000):
            chunk = ids[start:start + 5000]
            out += [dict(r._mapping) for r in conn.execute(
                select(CASES).where(CASES.c.id.in_(chunk)))]
    return out


def restore(engine: Engine, saved: list[dict[str, Any]], since: dict[str, int]) -> None:
    """Undo a sweep: the due cases as they were; the outbox items, events and marks it wrote
    (ids above ``since``) and the job runs deleted."""
    cols = [c for c in saved[0] if c != "id"] if saved else []
    stmt = (update(CASES).where(CASES.c.id == bindparam("b_id"))
            .values({c: bindparam(f"b_{c}") for c in cols}))
    with engine.begin() as conn:
        for name, last in since.items():
            conn.execute(text(f"DELETE FROM {name} WHERE id > :last"), {"last": last})
        conn.execute(text("DELETE FROM job_runs"))
        if saved:
            conn.execute(stmt, [{f"b_{k}": v for k, v in r.items()} for r in saved])
    vacuum(engine)


def high_water(engine: Engine) -> dict[str, int]:
    """The largest id of each table a sweep appends to."""
    with engine.connect() as conn:
        return {name: int(conn.execute(text(f"SELECT coalesce(max(id), 0) FROM {name}"))
                          .scalar_one())
                for name in ("outbox", "case_events", "sweep_marks")}


def vacuum(engine: Engine) -> None:
    """Clear the dead row versions our own resets left (PostgreSQL), so each run starts from
    the clean state a production table reaches through autovacuum."""
    with engine.connect() as conn:
        ac = conn.execution_options(isolation_level="AUTOCOMMIT")
        ac.execute(text("VACUUM ANALYZE" if engine.dialect.name == "postgresql" else "ANALYZE"))


def undue(engine: Engine, ids: list[int]) -> None:
    """Make cases due for nothing (closed without a resolution, answered), keeping the table
    size. (Keeping a resolution would leave closed, unrated cases whose rating window ended
    unmarked: due for an evaluation expiry.)"""
    with engine.begin() as conn:
        for start in range(0, len(ids), 5000):
            conn.execute(update(CASES).where(CASES.c.id.in_(ids[start:start + 5000])).values(
                status="closed", auto_close_at=None, pending_since=None, resolved_at=None,
                first_response_at=NOW - 10 * D, closed_at=NOW - D))
    vacuum(engine)
