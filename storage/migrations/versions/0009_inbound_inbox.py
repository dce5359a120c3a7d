"""inbound inbox: Slack events are recorded, acknowledged, then processed (issue 14)

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30 16:45:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'inbound_inbox',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('source', sa.String(length=20), nullable=False),
        sa.Column('event_id', sa.String(length=200), nullable=False),
        sa.Column('body', sa.Text(), nullable=False),
        sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('lease_until', sa.DateTime(timezone=True), nullable=False),
        sa.Column('owner', sa.String(length=40), nullable=False),
        sa.Column('attempts', sa.Integer(), server_default=sa.text('0'), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_inbound_inbox')),
        sa.UniqueConstraint('source', 'event_id', name=op.f('uq_inbound_inbox_source')),
    )
    with op.batch_alter_table('inbound_inbox', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_inbound_inbox_lease_until'), ['lease_until'],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table('inbound_inbox', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_inbound_inbox_lease_until'))
    op.drop_table('inbound_inbox')
