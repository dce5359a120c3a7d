"""What every repository shares: the unit of work's session, and which database it talks to."""

from __future__ import annotations

from sqlalchemy.orm import Session


class SqlRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    @property
    def _pg(self) -> bool:
        return self.session.get_bind().dialect.name == "postgresql"
