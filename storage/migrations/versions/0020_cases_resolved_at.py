"""cases gets an index on (status, resolved_at): the evaluation expiry sweep reads resolved and
closed cases by resolution time (a case closed inside its evaluation window stays rateable
until the window ends, so its rating buttons expire then too)

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-02 10:00:00.000000
"""
from collections.abc import Sequence

from alembic import op

revision: str = '0020'
down_revision: str | None = '0019'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index('ix_cases_resolved', 'cases', ['status', 'resolved_at'])


def downgrade() -> None:
    op.drop_index('ix_cases_resolved', table_name='cases')
