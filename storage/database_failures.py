"""Whether an error means the database could not be used at all (not reachable, refused the
login, a SQLite file that cannot be opened), and the driver's one-line reason: the command
line says that in a line instead of a traceback, without importing SQLAlchemy itself."""

from __future__ import annotations

from sqlalchemy.exc import InterfaceError, OperationalError


def database_failure(exc: BaseException) -> str | None:
    """The driver's first line for a failure of the connection or the database itself;
    None for any other error (a bug keeps its traceback)."""
    if not isinstance(exc, OperationalError | InterfaceError):
        return None
    reason = str(exc.orig if exc.orig is not None else exc).strip()
    return reason.splitlines()[0] if reason else type(exc).__name__
