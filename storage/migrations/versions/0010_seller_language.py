"""sellers' language and time zone (issue 16)

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30 16:50:00.000000

Both nullable: a seller without a language has not written since this migration; the engine
stores the one it detects on their next message (Telegram's language_code, else the script
of what they write). A seller without a time zone gets their language's default.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('sellers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('language', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('time_zone', sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('sellers', schema=None) as batch_op:
        batch_op.drop_column('time_zone')
        batch_op.drop_column('language')
