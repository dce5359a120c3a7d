"""scheduler: job_runs, sweep_marks and the sweep indexes on cases

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 12:00:00.000000
"""
from collections.abc import Sequence

from alembic import op
import sqlalchemy as sa


revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('job_runs',
    sa.Column('name', sa.String(length=60), nullable=False),
    sa.Column('last_slot', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_run_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_count', sa.Integer(), server_default='0', nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_job_runs'))
    )
    op.create_table('sweep_marks',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('case_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_sweep_marks_case_id_cases')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sweep_marks')),
    sa.UniqueConstraint('case_id', 'kind', 'due_at', name=op.f('uq_sweep_marks_case_id'))
    )
    # Each sweep's due set is a range at the end of one of these (see storage/sweeps.py).
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.create_index('ix_cases_sweep_auto_close', ['status', 'auto_close_at'], unique=False)
        batch_op.create_index('ix_cases_sweep_first_response', ['status', 'first_response_at', 'fr_breach_sent', 'fr_warning_sent', 'first_response_due_at'], unique=False)
        batch_op.create_index('ix_cases_sweep_pending', ['status', 'reminders_sent', 'pending_since'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_index('ix_cases_sweep_pending')
        batch_op.drop_index('ix_cases_sweep_first_response')
        batch_op.drop_index('ix_cases_sweep_auto_close')

    op.drop_table('sweep_marks')
    op.drop_table('job_runs')
