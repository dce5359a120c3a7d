"""case credits: who a case is assigned to, who gave its first response and who resolved it

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30 15:10:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('assignee_ref', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('assignee_name', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('first_response_by', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('resolved_by', sa.String(length=100), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_column('resolved_by')
        batch_op.drop_column('first_response_by')
        batch_op.drop_column('assignee_name')
        batch_op.drop_column('assignee_ref')
