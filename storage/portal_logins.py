"""The used portal login links (bot/portal_login.py): one row per used token's hash."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError

from storage.database import Database
from storage.models import PortalLoginUseRow


class SqlPortalLoginStore:
    """Implements `bot.portal_login.PortalLoginStore`, one short transaction per login."""

    def __init__(self, database: Database) -> None:
        self._database = database

    def mark_used(self, token_hash: str, seller_id: int, expires_at: datetime,
                  now: datetime) -> bool:
        with self._database.sessions() as session:
            # Links past their expiry are refused before they get here: their rows are dead.
            session.execute(delete(PortalLoginUseRow).where(PortalLoginUseRow.expires_at < now))
            session.add(PortalLoginUseRow(token_hash=token_hash, seller_id=seller_id,
                                          expires_at=expires_at, used_at=now))
            try:
                session.commit()
            except IntegrityError:
                session.rollback()
                return False
            return True
