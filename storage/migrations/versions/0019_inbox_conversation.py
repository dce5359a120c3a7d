"""inbound_inbox gets the conversation of each event (a Slack channel and thread), so events of
one conversation are processed in the order they came in across crashes and processes
(adapters/slack/event_inbox.py)

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-01 14:00:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0019'
down_revision: str | None = '0018'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('inbound_inbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('conversation', sa.String(length=200), nullable=True))
        batch_op.create_index('ix_inbound_inbox_conversation',
                              ['source', 'conversation', 'id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('inbound_inbox', schema=None) as batch_op:
        batch_op.drop_index('ix_inbound_inbox_conversation')
        batch_op.drop_column('conversation')
