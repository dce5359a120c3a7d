"""Shared fixtures: databases (SQLite always, PostgreSQL when configured), clock, services."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bot.cases import CaseRules, CaseService
from bot.clock import ManualClock
from bot.relay import Relay, RelayConfig
from storage.database import Database
from storage.migrate import upgrade
from storage.models import Base
from storage.uow import SqlUnitOfWorkFactory

pytest_plugins = ["tests.rasa_fixtures"]

PG_ENV = "FRONTDOOR_TEST_DATABASE_URL"
# Where `make test` looks for PostgreSQL when PG_ENV is not set (the local server of README's
# setup). Set PG_ENV to an empty value to run without PostgreSQL even when it answers.
DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
_pg_found: list[str] = []  # why PostgreSQL is used or not, for the header and the summary


def _postgres_answers(url: str) -> bool:
    engine = create_engine(url, connect_args={"connect_timeout": 2})
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return True
    except Exception:
        return False
    finally:
        engine.dispose()


def pytest_configure(config: pytest.Config) -> None:
    """Use the default local PostgreSQL when PG_ENV is unset and it answers, so `make test`
    runs the PostgreSQL variants wherever the server is up."""
    if PG_ENV in os.environ:
        _pg_found.append(f"{PG_ENV} is set" if os.environ[PG_ENV] else f"{PG_ENV} is empty")
    elif _postgres_answers(DEFAULT_PG_URL):
        os.environ[PG_ENV] = DEFAULT_PG_URL
        _pg_found.append(f"{PG_ENV} unset; the server at {DEFAULT_PG_URL} answers")
    else:
        _pg_found.append(f"{PG_ENV} unset and nothing answers at {DEFAULT_PG_URL}")


def pytest_report_header(config: pytest.Config) -> str:
    why = "; ".join(_pg_found)
    if os.environ.get(PG_ENV):
        return f"PostgreSQL tests: ON ({why})"
    return (f"!!! PostgreSQL tests: SKIPPED ({why}); "
            "CI sets it and never skips them !!!")


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not os.environ.get(PG_ENV):
        terminalreporter.write_line(
            f"!!! PostgreSQL integration tests were SKIPPED ({'; '.join(_pg_found)}): start "
            f"PostgreSQL or set {PG_ENV} to run them !!!",
            red=True, bold=True,
        )


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this test session, migrated, dropped at the end."""
    base = os.environ.get(PG_ENV)
    if not base:
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the PostgreSQL tests: {PG_ENV} is not set")
        pytest.skip(f"PostgreSQL not configured ({'; '.join(_pg_found) or PG_ENV + ' unset'})")
    url = make_url(base)
    name = f"fd_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    test_url = url.set(database=name).render_as_string(hide_password=False)
    upgrade(test_url)
    yield test_url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _truncate_all(db: Database) -> None:
    names = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with db.engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


@pytest.fixture(params=["sqlite", "postgres"])
def db(request: pytest.FixtureRequest, tmp_path: os.PathLike[str]) -> Iterator[Database]:
    """The case store on each database: an empty SQLite file, or the session's PostgreSQL."""
    if request.param == "sqlite":
        database = Database(f"sqlite:///{tmp_path}/frontdoor.db")
        Base.metadata.create_all(database.engine)
    else:
        database = Database(request.getfixturevalue("postgres_url"))
        _truncate_all(database)
    yield database
    database.dispose()


@pytest.fixture
def sqlite_db(tmp_path: os.PathLike[str]) -> Iterator[Database]:
    database = Database(f"sqlite:///{tmp_path}/frontdoor.db")
    Base.metadata.create_all(database.engine)
    yield database
    database.dispose()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def uow_factory(db: Database) -> SqlUnitOfWorkFactory:
    return SqlUnitOfWorkFactory(db, "CX")


@pytest.fixture
def relay() -> Relay:
    return Relay(RelayConfig(agents_destination="slack", channel_for=lambda _t: "C_SUPPORT"))


@pytest.fixture
def rules() -> CaseRules:
    return CaseRules()


@pytest.fixture
def service(uow_factory: SqlUnitOfWorkFactory, relay: Relay, rules: CaseRules,
            clock: ManualClock) -> CaseService:
    return CaseService(uow_factory, relay, rules, clock)
