"""case threads: where a case is shown to agents, one record per case and platform, copied
from the cases' Slack columns (which stay until every reader uses the record)

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-30 16:45:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0014'
down_revision: str | None = '0013'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'case_threads',
        sa.Column('case_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('platform', sa.String(length=20), nullable=False),
        sa.Column('channel', sa.String(length=100), nullable=False),
        sa.Column('parent_message_id', sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(['case_id'], ['cases.id'],
                                name=op.f('fk_case_threads_case_id_cases')),
        sa.PrimaryKeyConstraint('case_id', 'platform', name=op.f('pk_case_threads')),
        sa.UniqueConstraint('platform', 'channel', 'parent_message_id',
                            name=op.f('uq_case_threads_platform')),
    )
    # Every case already posted to Slack keeps its thread.
    op.execute(
        "INSERT INTO case_threads (case_id, platform, channel, parent_message_id) "
        "SELECT id, 'slack', slack_channel, slack_ts FROM cases "
        "WHERE slack_channel IS NOT NULL AND slack_ts IS NOT NULL"
    )


def downgrade() -> None:
    op.drop_table('case_threads')
