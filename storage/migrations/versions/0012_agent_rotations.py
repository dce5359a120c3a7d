"""agent rotations: the member of each agents' pool (Slack user group) who got the last
round-robin case (issue 12)

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-30 16:40:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0012'
down_revision: str | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'agent_rotations',
        sa.Column('pool', sa.String(length=100), nullable=False),
        sa.Column('last_member', sa.String(length=100), nullable=True),
        sa.Column('assigned_count', sa.BigInteger(), server_default='0', nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('pool', name=op.f('pk_agent_rotations')),
    )


def downgrade() -> None:
    op.drop_table('agent_rotations')
