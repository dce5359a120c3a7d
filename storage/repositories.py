"""SQLAlchemy implementations of the repository ports in `bot.ports`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, and_, bindparam, delete, exists, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.domain import (
    ACTIVE_STATUSES,
    AGENT,
    DECLINED,
    Case,
    CaseEvent,
    CaseMessage,
    Evaluation,
    Identity,
    Invitation,
    NewCase,
    Seller,
)
from bot.inbound_claims import InboundClaim
from bot.ports import Conversation, DuplicateActiveCase
from storage.models import (
    CaseEventRow,
    CaseMessageRow,
    CaseRow,
    CounterRow,
    DialogueStateRow,
    EvaluationRow,
    IdentityRow,
    InvitationRequestRow,
    InvitationRow,
    Merchant,
    MessageRefRow,
    ProcessedEventRow,
    SellerRow,
)
from storage.repository_base import SqlRepository as _Repo


def _seller(row: SellerRow) -> Seller:
    return Seller(row.id, row.merchant_id, row.display_name, row.is_main, row.created_at)


def _identity(row: IdentityRow) -> Identity:
    return Identity(
        row.id, row.channel, row.external_id, row.address, row.display_name, row.seller_id,
        row.blocked_at,
    )


def _invitation(row: InvitationRow) -> Invitation:
    return Invitation(
        row.id, row.code, row.seller_name, row.merchant_id, row.expires_at,
        row.used_by_seller_id, row.created_at,
    )


def _case(row: CaseRow) -> Case:
    return Case(
        id=row.id, number=row.number, seller_id=row.seller_id, identity_id=row.identity_id,
        case_type=row.case_type, order_id=row.order_key or None, title=row.title,
        status=row.status, urgent=row.urgent, needs_human=row.needs_human,
        keep_open_count=row.keep_open_count, created_at=row.created_at,
        updated_at=row.updated_at, status_changed_at=row.status_changed_at,
        first_response_due_at=row.first_response_due_at,
        first_response_at=row.first_response_at, pending_since=row.pending_since,
        auto_close_at=row.auto_close_at, resolved_at=row.resolved_at, closed_at=row.closed_at,
        seller_seen_at=row.seller_seen_at, reopened_from_id=row.reopened_from_id,
        reopened_as_id=row.reopened_as_id, slack_channel=row.slack_channel,
        slack_ts=row.slack_ts, reminders_sent=row.reminders_sent,
        fr_warning_sent=row.fr_warning_sent, fr_breach_sent=row.fr_breach_sent,
        subject=row.subject_key or None,
    )


def _message(row: CaseMessageRow) -> CaseMessage:
    return CaseMessage(
        row.id, row.case_id, row.author_kind, row.author_ref, row.author_name, row.text,
        tuple(row.attachments or ()), row.internal, row.created_at, row.read_at, row.edited_at,
    )


def _event(row: CaseEventRow) -> CaseEvent:
    return CaseEvent(
        row.id, row.case_id, row.kind, row.actor_kind, row.actor_ref, row.from_value,
        row.to_value, row.reason, row.created_at,
    )


class SqlSellerRepository(_Repo):
    def __init__(self, session: Session) -> None:
        super().__init__(session)
        # The session's identity map holds rows weakly: keep the sellers read in this unit of
        # work, so a second get() (the case card, say) is answered without a query.
        self._held: dict[int, SellerRow] = {}

    def get(self, seller_id: int) -> Seller | None:
        row = self._held.get(seller_id) or self.session.get(SellerRow, seller_id)
        if row is None:
            return None
        self._held[seller_id] = row
        return _seller(row)

    def add(self, merchant_id: int | None, display_name: str, now: datetime) -> Seller:
        is_main = merchant_id is None
        if merchant_id is None:
            merchant = Merchant(name=display_name, created_at=now)
            self.session.add(merchant)
            self.session.flush()
            merchant_id = merchant.id
        row = SellerRow(
            merchant_id=merchant_id, display_name=display_name, is_main=is_main, created_at=now
        )
        self.session.add(row)
        self.session.flush()
        self._held[row.id] = row
        return _seller(row)


class SqlIdentityRepository(_Repo):
    def get(self, identity_id: int) -> Identity | None:
        row = self.session.get(IdentityRow, identity_id)
        return _identity(row) if row else None

    def find(self, channel: str, external_id: str) -> Identity | None:
        row = self.session.scalar(
            select(IdentityRow).where(
                IdentityRow.channel == channel, IdentityRow.external_id == external_id
            )
        )
        return _identity(row) if row else None

    def find_by_address(self, channel: str, address: str) -> Identity | None:
        row = self.session.scalar(
            select(IdentityRow).where(IdentityRow.channel == channel,
                                      IdentityRow.address == address).limit(1)
        )
        return _identity(row) if row else None

    def ensure(
        self, channel: str, external_id: str, address: str, display_name: str | None,
        now: datetime,
    ) -> Identity:
        found = self.session.scalar(
            select(IdentityRow).where(
                IdentityRow.channel == channel, IdentityRow.external_id == external_id
            )
        )
        if found is not None:
            if found.address != address or (display_name and found.display_name != display_name):
                found.address = address
                found.display_name = display_name or found.display_name
            return _identity(found)
        row = IdentityRow(
            channel=channel, external_id=external_id, address=address,
            display_name=display_name, created_at=now,
        )
        try:
            with self.session.begin_nested():
                self.session.add(row)
        except IntegrityError:
            # Another request created it first: use theirs.
            again = self.find(channel, external_id)
            assert again is not None
            return again
        return _identity(row)

    def link_seller(self, identity_id: int, seller_id: int) -> None:
        self.session.execute(
            update(IdentityRow).where(IdentityRow.id == identity_id).values(seller_id=seller_id)
        )

    def set_blocked(self, identity_id: int, when: datetime | None) -> bool:
        # Conditional on the current state, so of two processes that see the same change only
        # one reports it (the other's UPDATE finds the row already changed).
        changing = (IdentityRow.blocked_at.is_(None) if when is not None
                    else IdentityRow.blocked_at.is_not(None))
        result = self.session.execute(
            update(IdentityRow).where(IdentityRow.id == identity_id, changing)
            .values(blocked_at=when)
        )
        return bool(getattr(result, "rowcount", 0))

    def for_seller(self, seller_id: int) -> Sequence[Identity]:
        rows = self.session.scalars(select(IdentityRow).where(IdentityRow.seller_id == seller_id))
        return [_identity(r) for r in rows]


class SqlInvitationRepository(_Repo):
    def add(
        self, code: str, seller_name: str, merchant_id: int | None, expires_at: datetime,
        created_by: str | None, now: datetime,
    ) -> Invitation:
        row = InvitationRow(
            code=code, seller_name=seller_name, merchant_id=merchant_id, expires_at=expires_at,
            created_by=created_by, created_at=now,
        )
        self.session.add(row)
        self.session.flush()
        return _invitation(row)

    def get_by_code_for_update(self, code: str) -> Invitation | None:
        row = self.session.scalar(
            select(InvitationRow).where(InvitationRow.code == code).with_for_update()
        )
        return _invitation(row) if row else None

    def mark_used(self, invitation_id: int, seller_id: int, now: datetime) -> None:
        self.session.execute(
            update(InvitationRow)
            .where(InvitationRow.id == invitation_id)
            .values(used_by_seller_id=seller_id, used_at=now)
        )

    def add_request(self, identity_id: int, note: str, now: datetime) -> int:
        row = InvitationRequestRow(identity_id=identity_id, note=note, created_at=now)
        self.session.add(row)
        self.session.flush()
        return row.id

    def list_requests(self) -> Sequence[dict[str, Any]]:
        rows = self.session.execute(
            select(InvitationRequestRow, IdentityRow)
            .join(IdentityRow, IdentityRow.id == InvitationRequestRow.identity_id)
            .order_by(InvitationRequestRow.id)
        )
        return [
            {
                "id": req.id, "channel": ident.channel, "user": ident.external_id,
                "name": ident.display_name, "note": req.note,
                "created_at": req.created_at.isoformat(),
            }
            for req, ident in rows
        ]


class SqlCaseRepository(_Repo):
    def __init__(self, session: Session, prefix: str) -> None:
        super().__init__(session)
        self.prefix = prefix
        # Rows read under lock, kept until the unit of work ends: the session's identity map
        # holds rows weakly, and update() of a locked case must not read it again.
        self._locked: dict[int, CaseRow] = {}

    def _next_number(self) -> str:
        # Incrementing one counter row takes its row lock until commit, so numbers are
        # gapless (a rolled-back insert rolls the counter back) and never collide.
        value = self.session.execute(
            update(CounterRow)
            .where(CounterRow.name == "case")
            .values(value=CounterRow.value + 1)
            .returning(CounterRow.value)
        ).scalar()
        if value is None:
            try:
                with self.session.begin_nested():
                    self.session.add(CounterRow(name="case", value=1))
                value = 1
            except IntegrityError:
                return self._next_number()
        return f"{self.prefix}-{value:06d}"

    def add(self, new: NewCase) -> Case:
        try:
            with self.session.begin_nested():
                row = CaseRow(
                    number=self._next_number(), seller_id=new.seller_id,
                    identity_id=new.identity_id, case_type=new.case_type,
                    order_key=new.order_id or "", subject_key=new.subject or "",
                    title=new.title, status=new.status,
                    urgent=new.urgent, needs_human=False, keep_open_count=0,
                    created_at=new.created_at, updated_at=new.created_at,
                    status_changed_at=new.created_at,
                    first_response_due_at=new.first_response_due_at,
                    reopened_from_id=new.reopened_from_id, reminders_sent=0,
                    fr_warning_sent=False, fr_breach_sent=False,
                )
                self.session.add(row)
                self.session.flush()
        except IntegrityError as exc:
            if "uq_cases_active_issue" in str(exc.orig) or "cases.seller_id" in str(exc.orig):
                raise DuplicateActiveCase(str(exc.orig)) from exc
            raise
        return _case(row)

    def get(self, case_id: int) -> Case | None:
        row = self.session.get(CaseRow, case_id)
        return _case(row) if row else None

    def get_by_number(self, number: str, lock: bool = False) -> Case | None:
        stmt = select(CaseRow).where(CaseRow.number == number)
        if lock:
            stmt = stmt.with_for_update().execution_options(populate_existing=True)
        row = self.session.scalar(stmt)
        if row is None:
            return None
        if lock:
            self._locked[row.id] = row
        return _case(row)

    def get_for_update(self, case_id: int) -> Case | None:
        row = self.session.scalar(
            select(CaseRow).where(CaseRow.id == case_id).with_for_update()
            .execution_options(populate_existing=True)
        )
        if row is None:
            return None
        self._locked[row.id] = row
        return _case(row)

    def find_by_thread(self, channel: str, ts: str) -> Case | None:
        row = self.session.scalar(
            select(CaseRow).where(CaseRow.slack_channel == channel, CaseRow.slack_ts == ts)
        )
        return _case(row) if row else None

    def set_thread(self, case_id: int, channel: str, ts: str) -> bool:
        result = self.session.execute(
            update(CaseRow).where(CaseRow.id == case_id, CaseRow.slack_ts.is_(None))
            .values(slack_channel=channel, slack_ts=ts)
        )
        return bool(getattr(result, "rowcount", 0))

    def _issue(self, seller_id: int, case_type: str, order_id: str | None,
               subject: str | None = None) -> Any:
        return self._same_type(seller_id, case_type, order_id).where(
            CaseRow.subject_key == (subject or ""))

    @staticmethod
    def _same_type(seller_id: int, case_type: str, order_id: str | None) -> Any:
        return select(CaseRow).where(
            CaseRow.seller_id == seller_id,
            CaseRow.case_type == case_type,
            CaseRow.order_key == (order_id or ""),
        )

    def find_active(self, seller_id: int, case_type: str, order_id: str | None,
                    subject: str | None = None) -> Case | None:
        row = self.session.scalar(
            self._issue(seller_id, case_type, order_id, subject)
            .where(CaseRow.status.in_(ACTIVE_STATUSES))
            .execution_options(populate_existing=True)
        )
        return _case(row) if row else None

    def find_declined(self, seller_id: int, case_type: str, order_id: str | None,
                      subject: str | None = None) -> Case | None:
        row = self.session.scalar(
            self._issue(seller_id, case_type, order_id, subject)
            .where(CaseRow.status == DECLINED)
            .order_by(CaseRow.id.desc())
            .limit(1)
        )
        return _case(row) if row else None

    def same_type(self, seller_id: int, case_type: str, order_id: str | None,
                  statuses: Sequence[str]) -> Sequence[Case]:
        rows = self.session.scalars(
            self._same_type(seller_id, case_type, order_id)
            .where(CaseRow.status.in_(statuses))
            .order_by(CaseRow.id.desc())
            .execution_options(populate_existing=True)
        )
        return [_case(r) for r in rows]

    def find_declined_with_order(self, seller_id: int, order_id: str) -> Case | None:
        row = self.session.scalar(
            select(CaseRow).where(CaseRow.seller_id == seller_id, CaseRow.order_key == order_id,
                                  CaseRow.status == DECLINED)
            .order_by(CaseRow.id.desc()).limit(1)
        )
        return _case(row) if row else None

    def update(self, case_id: int, **changes: Any) -> Case:
        row = self._locked.get(case_id) or self.session.get(CaseRow, case_id)
        if row is None:
            raise KeyError(case_id)
        if "order_id" in changes:
            changes["order_key"] = changes.pop("order_id") or ""
        if "subject" in changes:
            changes["subject_key"] = changes.pop("subject") or ""
        for key, value in changes.items():
            if not hasattr(CaseRow, key):
                raise AttributeError(f"cases has no column {key}")
            setattr(row, key, value)
        try:
            with self.session.begin_nested():
                self.session.flush()
        except IntegrityError as exc:
            raise DuplicateActiveCase(str(exc.orig)) from exc
        return _case(row)

    def _filtered(
        self, stmt: Any, statuses: Sequence[str] | None, query: str | None, limit: int
    ) -> Sequence[Case]:
        if statuses:
            stmt = stmt.where(CaseRow.status.in_(statuses))
        if query:
            needle = query.strip()
            like = f"%{needle.lower()}%"
            stmt = stmt.where(
                or_(
                    CaseRow.number == needle.upper(),
                    func.lower(CaseRow.title).like(like),
                    CaseRow.order_key == needle.upper(),
                )
            )
        rows = self.session.scalars(stmt.order_by(CaseRow.updated_at.desc(), CaseRow.id.desc()).limit(limit))
        return [_case(r) for r in rows]

    def list_for_seller(
        self, seller_id: int, statuses: Sequence[str] | None, query: str | None, limit: int
    ) -> Sequence[Case]:
        return self._filtered(
            select(CaseRow).where(CaseRow.seller_id == seller_id), statuses, query, limit
        )

    def list_all(
        self, statuses: Sequence[str] | None, query: str | None, limit: int
    ) -> Sequence[Case]:
        return self._filtered(select(CaseRow), statuses, query, limit)

    def count_created_since(self, seller_id: int, since: datetime) -> int:
        return int(
            self.session.scalar(
                select(func.count())
                .select_from(CaseRow)
                # A reopened case continues an old one: not a new case for the daily cap.
                .where(CaseRow.seller_id == seller_id, CaseRow.created_at >= since,
                       CaseRow.reopened_from_id.is_(None))
            )
            or 0
        )


class SqlMessageRepository(_Repo):
    def add(
        self, case_id: int, author_kind: str, author_ref: str | None, author_name: str | None,
        text: str, attachments: Sequence[dict[str, Any]], internal: bool, now: datetime,
    ) -> CaseMessage:
        row = CaseMessageRow(
            case_id=case_id, author_kind=author_kind, author_ref=author_ref,
            author_name=author_name, text=text, attachments=list(attachments),
            internal=internal, created_at=now,
        )
        self.session.add(row)
        self.session.flush()
        return _message(row)

    def get(self, message_id: int) -> CaseMessage | None:
        row = self.session.get(CaseMessageRow, message_id)
        return _message(row) if row else None

    def for_case(self, case_id: int, include_internal: bool) -> Sequence[CaseMessage]:
        stmt = select(CaseMessageRow).where(CaseMessageRow.case_id == case_id)
        if not include_internal:
            stmt = stmt.where(CaseMessageRow.internal.is_(False))
        return [_message(r) for r in self.session.scalars(stmt.order_by(CaseMessageRow.id))]

    def _visible_agent(self) -> Any:
        return (CaseMessageRow.author_kind == AGENT) & CaseMessageRow.internal.is_(False)

    def last_visible_agent_reply(self, case_id: int) -> CaseMessage | None:
        row = self.session.scalar(
            select(CaseMessageRow)
            .where(CaseMessageRow.case_id == case_id, self._visible_agent())
            .order_by(CaseMessageRow.id.desc())
            .limit(1)
        )
        return _message(row) if row else None

    def cases_mentioning(self, words: Sequence[str], statuses: Sequence[str] | None,
                         limit: int) -> Sequence[int]:
        if not words:
            return []
        text = func.lower(CaseMessageRow.text)
        stmt = (select(CaseRow.id)
                .where(exists().where(
                    CaseMessageRow.case_id == CaseRow.id,
                    *(text.contains(w.lower(), autoescape=True) for w in words)))
                .order_by(CaseRow.updated_at.desc(), CaseRow.id.desc()).limit(limit))
        if statuses:
            stmt = stmt.where(CaseRow.status.in_(statuses))
        return list(self.session.scalars(stmt))

    def unread_counts(self, case_ids: Sequence[int]) -> dict[int, int]:
        if not case_ids:
            return {}
        rows = self.session.execute(
            select(CaseMessageRow.case_id, func.count())
            .where(
                CaseMessageRow.case_id.in_(case_ids),
                self._visible_agent(),
                CaseMessageRow.read_at.is_(None),
            )
            .group_by(CaseMessageRow.case_id)
        )
        return {case_id: int(count) for case_id, count in rows}

    def mark_read(self, case_ids: Sequence[int], now: datetime) -> int:
        if not case_ids:
            return 0
        result = self.session.execute(
            update(CaseMessageRow)
            .where(
                CaseMessageRow.case_id.in_(case_ids),
                self._visible_agent(),
                CaseMessageRow.read_at.is_(None),
            )
            .values(read_at=now)
        )
        self.session.execute(
            update(CaseRow).where(CaseRow.id.in_(case_ids)).values(seller_seen_at=now)
        )
        return int(getattr(result, "rowcount", 0) or 0)

    def edit(self, message_id: int, text: str, now: datetime) -> CaseMessage:
        row = self.session.get(CaseMessageRow, message_id)
        if row is None:
            raise KeyError(message_id)
        row.text = text
        row.edited_at = now
        self.session.flush()
        return _message(row)

    def add_ref(
        self, platform: str, chat_id: str, message_id: str, case_id: int,
        case_message_id: int | None,
    ) -> None:
        try:
            with self.session.begin_nested():
                self.session.add(
                    MessageRefRow(
                        platform=platform, chat_id=chat_id, message_id=message_id,
                        case_id=case_id, case_message_id=case_message_id,
                    )
                )
        except IntegrityError:
            pass  # already recorded: delivery results can be recorded twice after a crash

    def find_ref(
        self, platform: str, chat_id: str, message_id: str
    ) -> tuple[int, int | None] | None:
        row = self.session.scalar(
            select(MessageRefRow).where(
                MessageRefRow.platform == platform,
                MessageRefRow.chat_id == chat_id,
                MessageRefRow.message_id == message_id,
            )
        )
        return (row.case_id, row.case_message_id) if row else None


class SqlEventRepository(_Repo):
    def add(
        self, case_id: int, kind: str, actor_kind: str, actor_ref: str | None,
        from_value: str | None, to_value: str | None, reason: str | None, now: datetime,
    ) -> CaseEvent:
        row = CaseEventRow(
            case_id=case_id, kind=kind, actor_kind=actor_kind, actor_ref=actor_ref,
            from_value=from_value, to_value=to_value, reason=reason, created_at=now,
        )
        self.session.add(row)
        self.session.flush()
        return _event(row)

    def for_case(self, case_id: int) -> Sequence[CaseEvent]:
        rows = self.session.scalars(
            select(CaseEventRow).where(CaseEventRow.case_id == case_id).order_by(CaseEventRow.id)
        )
        return [_event(r) for r in rows]


def _evaluation(row: EvaluationRow) -> Evaluation:
    return Evaluation(row.case_id, row.level, row.reason, row.created_at, row.reason_code)


class SqlEvaluationRepository(_Repo):
    def get(self, case_id: int) -> Evaluation | None:
        row = self.session.scalar(select(EvaluationRow).where(EvaluationRow.case_id == case_id))
        return _evaluation(row) if row else None

    def add(self, case_id: int, level: str, reason: str | None, now: datetime,
            reason_code: str | None = None) -> Evaluation:
        row = EvaluationRow(case_id=case_id, level=level, reason=reason, reason_code=reason_code,
                            created_at=now)
        self.session.add(row)
        self.session.flush()
        return _evaluation(row)

    def set_reason(self, case_id: int, reason_code: str, reason: str | None) -> Evaluation:
        row = self.session.scalar(select(EvaluationRow).where(EvaluationRow.case_id == case_id))
        if row is None:
            raise LookupError(f"no evaluation for case {case_id}")
        row.reason_code = reason_code
        row.reason = reason
        self.session.flush()
        return _evaluation(row)


# The statements of every message's turn, built once per dialect and run with parameters:
# plain Core (no ORM bulk machinery), no per-call construction or cache-key work.
_PROCESSED = cast(Table, ProcessedEventRow.__table__)
_DIALOGUES = cast(Table, DialogueStateRow.__table__)
_IDENTITIES = cast(Table, IdentityRow.__table__)
_SELLERS = cast(Table, SellerRow.__table__)
_IDENTITY_COLUMNS = tuple(_IDENTITIES.c[name] for name in (
    "id", "channel", "external_id", "address", "display_name", "seller_id", "blocked_at"))
_SELLER_COLUMNS = tuple(_SELLERS.c[name] for name in (
    "id", "merchant_id", "display_name", "is_main", "created_at"))


@dataclass(frozen=True)
class _TurnStatements:
    claim: Any
    in_progress: Any
    complete: Any
    release: Any
    start: Any
    rename: Any
    load: Any
    save: Any


def _turn_statements(dialect: str) -> _TurnStatements:
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    p, d, i = _PROCESSED.c, _DIALOGUES.c, _IDENTITIES.c
    save = insert(_DIALOGUES).values(channel=bindparam("channel"),
                                     external_id=bindparam("external_id"),
                                     state=bindparam("state"), updated_at=bindparam("now"))
    claim = insert(_PROCESSED).values(source=bindparam("source"),
                                      event_id=bindparam("event_id"),
                                      created_at=bindparam("now"),
                                      lease_until=bindparam("lease_until"),
                                      owner=bindparam("owner"))
    return _TurnStatements(
        claim=claim.on_conflict_do_update(
            index_elements=["source", "event_id"],
            # Take over only a claim in progress whose lease ran out: its attempt died.
            set_={"lease_until": claim.excluded.lease_until, "owner": claim.excluded.owner},
            where=and_(p.lease_until.is_not(None), p.lease_until < claim.excluded.created_at),
        ).returning(p.id),
        in_progress=select(p.id).where(p.source == bindparam("source"),
                                       p.event_id == bindparam("event_id"),
                                       p.lease_until.is_not(None)),
        complete=update(_PROCESSED)
        .where(p.source == bindparam("b_source"), p.event_id == bindparam("b_event_id"),
               p.owner == bindparam("b_owner"), p.lease_until.is_not(None))
        .values(lease_until=None),
        release=delete(_PROCESSED).where(p.source == bindparam("source"),
                                         p.event_id == bindparam("event_id"),
                                         p.owner == bindparam("owner"),
                                         p.lease_until.is_not(None)),
        # Identity, seller and dialogue state in one query.
        start=select(*_IDENTITY_COLUMNS, *_SELLER_COLUMNS, d.state)
        .select_from(
            _IDENTITIES
            .outerjoin(_SELLERS, _SELLERS.c.id == i.seller_id)
            .outerjoin(_DIALOGUES, and_(d.channel == i.channel, d.external_id == i.external_id))
        )
        .where(i.channel == bindparam("channel"), i.external_id == bindparam("external_id")),
        rename=update(_IDENTITIES).where(i.id == bindparam("identity_id"))
        .values(address=bindparam("address"), display_name=bindparam("display_name")),
        load=select(d.state).where(d.channel == bindparam("channel"),
                                   d.external_id == bindparam("external_id")),
        # Insert the first state, replace it afterwards: one statement either way.
        save=save.on_conflict_do_update(
            index_elements=["channel", "external_id"],
            set_={"state": save.excluded.state, "updated_at": save.excluded.updated_at},
        ),
    )


_STATEMENTS = {name: _turn_statements(name) for name in ("postgresql", "sqlite")}


class _TurnRepo(_Repo):
    @property
    def _sql(self) -> _TurnStatements:
        return _STATEMENTS["postgresql" if self._pg else "sqlite"]


class SqlInboundRepository(_TurnRepo):
    def claim(self, source: str, event_id: str, now: datetime,
              lease: timedelta) -> InboundClaim | None:
        # One statement on both databases: a new event or an abandoned claim is leased; a done
        # or live one returns nothing. On PostgreSQL a concurrent claim of the same event
        # waits for this one's transaction and then sees its live lease.
        claim = InboundClaim(source, event_id)
        result = self.session.execute(self._sql.claim, {
            "source": source, "event_id": event_id, "now": now, "lease_until": now + lease,
            "owner": claim.owner})
        return claim if result.first() is not None else None

    def in_progress(self, source: str, event_id: str) -> bool:
        return self.session.scalar(self._sql.in_progress,
                                   {"source": source, "event_id": event_id}) is not None

    def complete(self, claim: InboundClaim) -> bool:
        result = self.session.execute(self._sql.complete, {
            "b_source": claim.source, "b_event_id": claim.event_id, "b_owner": claim.owner})
        return bool(getattr(result, "rowcount", 0))

    def release(self, claim: InboundClaim) -> None:
        self.session.execute(self._sql.release, {
            "source": claim.source, "event_id": claim.event_id, "owner": claim.owner})


class SqlDialogueRepository(_TurnRepo):
    def load(self, channel: str, external_id: str) -> dict[str, Any]:
        state = self.session.scalar(self._sql.load,
                                    {"channel": channel, "external_id": external_id})
        return dict(state) if state else {}

    def save(self, channel: str, external_id: str, state: dict[str, Any], now: datetime) -> None:
        self.session.execute(self._sql.save, {"channel": channel, "external_id": external_id,
                                              "state": state, "now": now})

    def start(
        self, channel: str, external_id: str, address: str, display_name: str | None,
        now: datetime,
    ) -> Conversation:
        found = self.session.execute(self._sql.start,
                                     {"channel": channel, "external_id": external_id}).first()
        if found is None:
            # First contact (or a race with another first message): the careful path.
            identity = SqlIdentityRepository(self.session).ensure(
                channel, external_id, address, display_name, now)
            seller = (SqlSellerRepository(self.session).get(identity.seller_id)
                      if identity.seller_id else None)
            return Conversation(identity, seller, self.load(channel, external_id))
        n_ident, n_seller = len(_IDENTITY_COLUMNS), len(_SELLER_COLUMNS)
        identity = Identity(*found[:n_ident])
        seller = Seller(*found[n_ident:n_ident + n_seller]) if identity.seller_id else None
        state = found[n_ident + n_seller]
        name = display_name or identity.display_name
        if identity.address != address or identity.display_name != name:
            self.session.execute(self._sql.rename, {"identity_id": identity.id,
                                                    "address": address, "display_name": name})
            identity = Identity(identity.id, identity.channel, identity.external_id, address,
                                name, identity.seller_id, identity.blocked_at)
        return Conversation(identity, seller, dict(state) if state else {})
