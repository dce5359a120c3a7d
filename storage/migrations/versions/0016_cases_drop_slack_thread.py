"""cases lose their Slack thread columns: where a case is shown to agents is the case_threads
record alone (0014 copied the columns into it; every reader uses it now)

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-30 17:20:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0016'
down_revision: str | None = '0015'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ACTIVE = "case_type IS NOT NULL AND status IN ('open', 'investigating', 'pending', 'resolved')"
_ACTIVE_ISSUE = ['seller_id', 'case_type', 'order_key', 'subject_key']


def _keep_active_issue_index(batch_op: object) -> None:
    # SQLite rebuilds the table in batch mode: rule 1's partial index is recreated as declared.
    batch_op.drop_index('uq_cases_active_issue')  # type: ignore[attr-defined]
    batch_op.create_index('uq_cases_active_issue', _ACTIVE_ISSUE,  # type: ignore[attr-defined]
                          unique=True, postgresql_where=sa.text(_ACTIVE),
                          sqlite_where=sa.text(_ACTIVE))


def upgrade() -> None:
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_index('ix_cases_slack_thread')
        batch_op.drop_column('slack_channel')
        batch_op.drop_column('slack_ts')
        _keep_active_issue_index(batch_op)


def downgrade() -> None:
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('slack_channel', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('slack_ts', sa.String(length=40), nullable=True))
        batch_op.create_index('ix_cases_slack_thread', ['slack_channel', 'slack_ts'],
                              unique=False)
        _keep_active_issue_index(batch_op)
    op.execute(
        "UPDATE cases SET "
        "slack_channel = (SELECT channel FROM case_threads t "
        "WHERE t.case_id = cases.id AND t.platform = 'slack'), "
        "slack_ts = (SELECT parent_message_id FROM case_threads t "
        "WHERE t.case_id = cases.id AND t.platform = 'slack')"
    )
