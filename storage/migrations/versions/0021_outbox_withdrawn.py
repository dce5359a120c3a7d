"""outbox items the agent deleted before they reached the seller get their own status,
'withdrawn', which no operator's retry takes (earlier versions recorded them as dead letters
with the reason "deleted by the agent"); outbox.attempts_before_retry remembers the attempts an
item spent before an operator requeued it (its attempts start again at 0), so a retried Slack
item is still looked for before it is posted again

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-01 17:00:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0021'
down_revision: str | None = '0020'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_DELETED = "'deleted by the agent'"


def upgrade() -> None:
    op.add_column('outbox', sa.Column('attempts_before_retry', sa.Integer(),
                                      server_default='0', nullable=False))
    # Dead: withdrawn while queued. Pending with that reason: withdrawn, then requeued by an
    # operator and not tried since (a try records its own error): still a deleted reply.
    op.execute("UPDATE outbox SET status = 'withdrawn' "
               f"WHERE status IN ('dead', 'pending') AND last_error = {_DELETED}")
    # Requeued before (a fresh budget, an error from before it): tried, at least once. A
    # rate-limited item looks the same; it is only looked for once more than needed.
    op.execute("UPDATE outbox SET attempts_before_retry = 1 "
               "WHERE status = 'pending' AND attempts = 0 AND last_error IS NOT NULL")


def downgrade() -> None:
    op.execute("UPDATE outbox SET status = 'dead' WHERE status = 'withdrawn'")
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_column('attempts_before_retry')
