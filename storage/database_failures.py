"""Whether an error means the database could not be used at all (not reachable, refused the
login, a SQLite file that cannot be opened), and the driver's one-line reason: the command
line says that in a line instead of a traceback, without importing SQLAlchemy itself."""

from __future__ import annotations

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError


def database_failure(exc: BaseException) -> str | None:
    """The driver's first line for a failure of the connection or the database itself;
    None for any other error (a bug keeps its traceback)."""
    if not isinstance(exc, OperationalError | InterfaceError):
        return None
    reason = str(exc.orig if exc.orig is not None else exc).strip()
    return reason.splitlines()[0] if reason else type(exc).__name__


def database_unavailable(exc: BaseException) -> bool:
    """Whether ``exc`` comes from the database not being usable at that moment: a lost or
    refused connection, SQLite's "database is locked", a statement or lock timeout, a
    deadlock (all OperationalError), the driver's InterfaceError, or any error on a
    connection SQLAlchemy found dead. Trying the same work again later may succeed."""
    if isinstance(exc, OperationalError | InterfaceError):
        return True
    return isinstance(exc, DBAPIError) and bool(exc.connection_invalidated)
