"""Cross-process wake-ups on PostgreSQL: a commit that queued outbox items sends NOTIFY, and
every `frontdoor serve` process LISTENs, so a reply typed in the CLI (another process) is
dispatched at once instead of at the next idle poll. SQLite has no equivalent; the
dispatcher's short idle poll covers it there."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

import psycopg
from sqlalchemy.engine import make_url

log = logging.getLogger(__name__)
CHANNEL = "frontdoor_outbox"


def libpq_dsn(url: str) -> str:
    """A psycopg connection string for a SQLAlchemy PostgreSQL URL."""
    u = make_url(url)
    parts = {"host": u.host, "port": u.port, "dbname": u.database, "user": u.username,
             "password": u.password}
    return " ".join(f"{k}={v}" for k, v in parts.items() if v is not None)


class OutboxListener:
    """A daemon thread that calls ``on_notify`` for every outbox NOTIFY."""

    def __init__(self, url: str, on_notify: Callable[[], None]) -> None:
        self.dsn = libpq_dsn(url)
        self.on_notify = on_notify
        self._stop = threading.Event()
        self.ready = threading.Event()  # set once LISTEN is in effect
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="outbox-listener", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                with psycopg.connect(self.dsn, autocommit=True) as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    self.ready.set()
                    while not self._stop.is_set():
                        # A timeout lets the thread notice stop() without a notification.
                        for _ in conn.notifies(timeout=1.0):
                            self.on_notify()
            except psycopg.Error:
                log.warning("outbox listener lost its connection; reconnecting", exc_info=True)
                self._stop.wait(2.0)
