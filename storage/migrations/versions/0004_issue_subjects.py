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


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
