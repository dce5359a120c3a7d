"""web chat retention: an index on web_chat_lines.created_at, so the retention job's bounded
delete of the oldest lines reads only those lines

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-30 17:10:00.000000
"""
from collections.abc import Sequence

from alembic import op

revision: str = '0015'
down_revision: str | None = '0014'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index('ix_web_chat_lines_created_at', 'web_chat_lines', ['created_at'])


def downgrade() -> None:
    op.drop_index('ix_web_chat_lines_created_at', table_name='web_chat_lines')
