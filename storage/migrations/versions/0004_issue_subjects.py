"""issue subjects: cases of a type without an order are told apart by a short subject

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30 14:10:00.000000
"""
from collections.abc import Sequence

from alembic import op
import sqlalchemy as sa


revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ACTIVE = "case_type IS NOT NULL AND status IN ('open', 'investigating', 'pending', 'resolved')"


def upgrade() -> None:
    # Existing cases keep subject "": each type without an order still has at most one of
    # them active, as before, and new cases get a subject of their own.
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('subject_key', sa.String(length=60), server_default='',
                                      nullable=False))
        batch_op.drop_index('uq_cases_active_issue')
        batch_op.create_index('uq_cases_active_issue',
                              ['seller_id', 'case_type', 'order_key', 'subject_key'],
                              unique=True, postgresql_where=sa.text(_ACTIVE),
                              sqlite_where=sa.text(_ACTIVE))


def downgrade() -> None:
    # Refused by the old index if a seller has two active cases of one type without an order.
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_index('uq_cases_active_issue')
        batch_op.create_index('uq_cases_active_issue', ['seller_id', 'case_type', 'order_key'],
                              unique=True, postgresql_where=sa.text(_ACTIVE),
                              sqlite_where=sa.text(_ACTIVE))
        batch_op.drop_column('subject_key')
