"""Alembic environment: the URL comes from the caller (storage.migrate), never from a file."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, pool, text

from storage.models import Base

config = context.config
target_metadata = Base.metadata
# The PostgreSQL advisory lock that serialises migrations (any constant the app uses nowhere
# else).
MIGRATION_LOCK = 0x46444D4947  # "FDMIG"


def run_migrations_offline() -> None:
    context.configure(
        url=config.get_main_option("sqlalchemy.url"), target_metadata=target_metadata,
        literal_binds=True, render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = create_engine(str(config.get_main_option("sqlalchemy.url")), poolclass=pool.NullPool)
    with engine.connect() as conn:
        context.configure(connection=conn, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            if conn.dialect.name == "postgresql":
                # Two processes started together (`serve` migrates first) would both find the
                # database behind and run the same migrations: one fails on the other's tables.
                # Held until this transaction ends, so the second reads the version after the
                # first has committed it, and finds nothing to do.
                conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
