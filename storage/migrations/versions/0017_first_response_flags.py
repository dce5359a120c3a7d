"""first-response flags say what they are: cases.fr_warning_sent and fr_breach_sent become
first_response_warning_sent and first_response_breach_sent (the sweeps' index follows them)

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-30 17:30:00.000000
"""
from collections.abc import Sequence

from alembic import op

revision: str = '0017'
down_revision: str | None = '0016'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_RENAMES = (('fr_warning_sent', 'first_response_warning_sent'),
            ('fr_breach_sent', 'first_response_breach_sent'))


def upgrade() -> None:
    # RENAME COLUMN on both databases (SQLite 3.25+): the index on the columns follows them.
    for old, new in _RENAMES:
        op.execute(f"ALTER TABLE cases RENAME COLUMN {old} TO {new}")


def downgrade() -> None:
    for old, new in _RENAMES:
        op.execute(f"ALTER TABLE cases RENAME COLUMN {new} TO {old}")
