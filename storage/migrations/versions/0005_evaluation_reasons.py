"""evaluation reasons as structured data

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30 14:10:00.000000
"""
from collections.abc import Sequence

from alembic import op
import sqlalchemy as sa


revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('evaluations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reason_code', sa.String(length=30), nullable=True))
    # Until now a reason was the seller's typed words only: keep them, filed as "other".
    op.execute("UPDATE evaluations SET reason_code = 'other' WHERE reason IS NOT NULL")


def downgrade() -> None:
    # The old schema has words only: a reason chosen by button keeps its code as words.
    op.execute("UPDATE evaluations SET reason = reason_code "
               "WHERE reason IS NULL AND reason_code IS NOT NULL")
    with op.batch_alter_table('evaluations', schema=None) as batch_op:
        batch_op.drop_column('reason_code')
