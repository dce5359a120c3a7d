"""portal login uses: the hashes of used one-time portal login links (issue 15)

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30 16:45:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'portal_login_uses',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('seller_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('used_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['seller_id'], ['sellers.id'],
                                name=op.f('fk_portal_login_uses_seller_id_sellers')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_portal_login_uses')),
        sa.UniqueConstraint('token_hash', name=op.f('uq_portal_login_uses_token_hash')),
    )
    op.create_index(op.f('ix_portal_login_uses_expires_at'), 'portal_login_uses', ['expires_at'])


def downgrade() -> None:
    op.drop_index(op.f('ix_portal_login_uses_expires_at'), table_name='portal_login_uses')
    op.drop_table('portal_login_uses')
