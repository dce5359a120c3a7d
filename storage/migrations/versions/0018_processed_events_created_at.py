"""processed_events gets an index on created_at: the scheduler forgets claims of events no
platform can redeliver any more, oldest first (bot.claim_retention)

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-30 21:00:00.000000
"""
from collections.abc import Sequence

from alembic import op

revision: str = '0018'
down_revision: str | None = '0017'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index('ix_processed_events_created_at', 'processed_events', ['created_at'])


def downgrade() -> None:
    op.drop_index('ix_processed_events_created_at', table_name='processed_events')
