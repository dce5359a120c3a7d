"""What every message's turn touches: the inbound event's lease and the dialogue state,
in statements built once per dialect."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, and_, bindparam, delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from bot.domain import (
    Identity,
    Seller,
)
from bot.inbound_claims import InboundClaim
from bot.ports import Conversation
from storage.models import (
    DialogueStateRow,
    IdentityRow,
    ProcessedEventRow,
    SellerRow,
)
from storage.people_repositories import SqlIdentityRepository, SqlSellerRepository
from storage.repository_base import SqlRepository as _Repo

# The statements of every message's turn, built once per dialect and run with parameters:
# plain Core (no ORM bulk machinery), no per-call construction or cache-key work.
_PROCESSED = cast(Table, ProcessedEventRow.__table__)
_DIALOGUES = cast(Table, DialogueStateRow.__table__)
_IDENTITIES = cast(Table, IdentityRow.__table__)
_SELLERS = cast(Table, SellerRow.__table__)
_IDENTITY_COLUMNS = tuple(_IDENTITIES.c[name] for name in (
    "id", "channel", "external_id", "address", "display_name", "seller_id", "blocked_at"))
_SELLER_COLUMNS = tuple(_SELLERS.c[name] for name in (
    "id", "merchant_id", "display_name", "is_main", "created_at", "language", "time_zone"))


@dataclass(frozen=True)
class _TurnStatements:
    claim: Any
    in_progress: Any
    complete: Any
    release: Any
    start: Any
    rename: Any
    load: Any
    load_locked: Any
    make_empty: Any
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
    owned = (p.source == bindparam("b_source"), p.event_id == bindparam("b_event_id"),
             p.owner == bindparam("b_owner"), p.lease_until.is_not(None))
    return _TurnStatements(
        claim=claim.on_conflict_do_update(
            index_elements=["source", "event_id"],
            # Take over only a claim in progress whose lease ran out: its attempt died. (A
            # leased row with its work done is from before turns were one transaction: its
            # work is saved, so it counts as done.)
            set_={"lease_until": claim.excluded.lease_until, "owner": claim.excluded.owner},
            where=and_(p.lease_until.is_not(None), p.lease_until < claim.excluded.created_at,
                       p.work_done.is_(False)),
        ).returning(p.id),
        in_progress=select(p.id).where(p.source == bindparam("source"),
                                       p.event_id == bindparam("event_id"),
                                       p.lease_until.is_not(None), p.work_done.is_(False)),
        complete=update(_PROCESSED).where(*owned).values(lease_until=None, work_done=True),
        # Never give back an event whose work is saved (a redelivery would repeat it).
        release=delete(_PROCESSED).where(p.source == bindparam("source"),
                                         p.event_id == bindparam("event_id"),
                                         p.owner == bindparam("owner"),
                                         p.lease_until.is_not(None), p.work_done.is_(False)),
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
        # SQLite has no row locks (and needs none: the turn holds the write lock by then).
        load_locked=select(d.state).where(d.channel == bindparam("channel"),
                                          d.external_id == bindparam("external_id"))
        .with_for_update(),
        # A second one of these waits for the first's transaction (the unique key), then adds
        # nothing.
        make_empty=insert(_DIALOGUES).values(channel=bindparam("channel"),
                                             external_id=bindparam("external_id"),
                                             state=bindparam("state"),
                                             updated_at=bindparam("now"))
        .on_conflict_do_nothing(index_elements=["channel", "external_id"]),
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
        row = self.session.execute(self._sql.claim, {
            "source": source, "event_id": event_id, "now": now, "lease_until": now + lease,
            "owner": claim.owner}).first()
        return None if row is None else claim

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

    def lock(self, channel: str, external_id: str, now: datetime) -> dict[str, Any]:
        key = {"channel": channel, "external_id": external_id}
        state = self.session.scalar(self._sql.load_locked, key)
        if state is None:
            self.session.execute(self._sql.make_empty, {**key, "state": {}, "now": now})
            state = self.session.scalar(self._sql.load_locked, key)
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
