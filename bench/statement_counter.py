"""Counting what a benchmark's engine sends: statements, commits, and the time inside them."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine


class Counter:
    """Counts (and optionally keeps) the statements and commits an engine sends, and the
    time spent inside the driver's execute (the database's work and the round trip; the
    COMMITs and the conversion of fetched rows not included) and inside the COMMITs (SQLite:
    also its WAL checkpoints, which run in the commit that fills the log)."""

    def __init__(self, engine: Engine) -> None:
        self.count = 0
        self.commits = 0
        self.sql_seconds = 0.0
        self.commit_seconds = 0.0
        commit = engine.dialect.do_commit

        def timed_commit(dbapi_connection: Any) -> None:
            started = time.perf_counter()
            try:
                commit(dbapi_connection)
            finally:
                self.commit_seconds += time.perf_counter() - started

        # This benchmark's own engine only: the driver's commit, timed.
        engine.dialect.do_commit = timed_commit  # type: ignore[method-assign]
        self._started = 0.0
        self.keep = False
        self.statements: list[tuple[str, Any]] = []
        event.listen(engine, "before_cursor_execute", self._on)
        event.listen(engine, "after_cursor_execute", self._after)
        event.listen(engine, "commit", self._on_commit)

    def reset(self, keep: bool = False) -> None:
        self.count = self.commits = 0
        self.sql_seconds = self.commit_seconds = 0.0
        self.keep = keep

    def _on(self, _conn: Any, _cursor: Any, statement: str, params: Any, *_: Any) -> None:
        self.count += 1
        if self.keep:
            self.statements.append((statement, params))
        self._started = time.perf_counter()

    def _after(self, *_: Any) -> None:
        self.sql_seconds += time.perf_counter() - self._started

    def _on_commit(self, _conn: Any) -> None:
        self.commits += 1
