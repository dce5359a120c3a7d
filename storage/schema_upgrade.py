"""`frontdoor db upgrade` with a report of what it found and did: a database it created, an
empty one it gave the schema, one it upgraded, or one already up to date."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect, pool
from sqlalchemy.engine import make_url

from storage.migrate import upgrade


@dataclass(frozen=True)
class UpgradeReport:
    """``where``: the database, password hidden. ``before``/``after``: schema revisions
    (None: no schema). ``new_file``: a SQLite file that did not exist. ``was_empty``: no
    tables at all before."""

    where: str
    before: str | None
    after: str | None
    new_file: bool
    was_empty: bool

    @property
    def created(self) -> bool:
        return self.new_file or self.was_empty


def _sqlite_file(url: str) -> Path | None:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return None
    name = parsed.database
    if not name or name == ":memory:" or name.startswith("file:"):
        return None
    return Path(name)


def _state(url: str) -> tuple[str | None, bool]:
    """The schema revision and whether the database has no tables."""
    engine = create_engine(url, poolclass=pool.NullPool)
    try:
        with engine.connect() as conn:
            revision = MigrationContext.configure(conn).get_current_revision()
            empty = not inspect(conn).get_table_names()
        return revision, empty
    finally:
        engine.dispose()


def upgrade_with_report(url: str) -> UpgradeReport:
    """Apply the migrations to ``url`` and say what that was."""
    file = _sqlite_file(url)
    new_file = file is not None and not file.exists()
    before, empty = (None, True) if new_file else _state(url)
    upgrade(url)
    after, _ = _state(url)
    where = str(file.resolve()) if file is not None else make_url(url).render_as_string(
        hide_password=True)
    return UpgradeReport(where, before, after, new_file, empty)
