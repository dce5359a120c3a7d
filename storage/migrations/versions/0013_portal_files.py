"""portal files: what sellers upload on the portal, kept for the Slack thread and for them (issue 15)

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-30 17:00:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0013'
down_revision: str | None = '0012'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'portal_files',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('seller_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('file_name', sa.String(length=200), nullable=False),
        sa.Column('mime_type', sa.String(length=100), nullable=False),
        sa.Column('size', sa.Integer(), nullable=False),
        sa.Column('content', sa.LargeBinary(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['seller_id'], ['sellers.id'],
                                name=op.f('fk_portal_files_seller_id_sellers')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_portal_files')),
    )
    op.create_index(op.f('ix_portal_files_seller_id'), 'portal_files', ['seller_id'])


def downgrade() -> None:
    op.drop_index(op.f('ix_portal_files_seller_id'), table_name='portal_files')
    op.drop_table('portal_files')
