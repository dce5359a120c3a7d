"""web chat lines, sellers' email addresses, and the unread-reply email sweep's mark (issue 15)

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30 16:55:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0011'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_UNREAD_NOTICE_DUE = ("author_kind = 'agent' AND internal = false AND read_at IS NULL "
                      "AND unread_notice_at IS NULL")
_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table(
        'web_chat_lines',
        sa.Column('id', _ID, nullable=False),
        sa.Column('address', sa.String(length=100), nullable=False),
        sa.Column('author', sa.String(length=10), nullable=False),
        sa.Column('payload', sa.JSON(), nullable=False),
        sa.Column('outbox_id', sa.BigInteger(), nullable=True),
        sa.Column('client_id', sa.String(length=100), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_web_chat_lines')),
        sa.UniqueConstraint('outbox_id', name=op.f('uq_web_chat_lines_outbox_id')),
        sa.UniqueConstraint('address', 'client_id', name=op.f('uq_web_chat_lines_address')),
    )
    op.create_index('ix_web_chat_lines_address', 'web_chat_lines', ['address', 'id'],
                    unique=False)
    op.create_table(
        'seller_emails',
        sa.Column('seller_id', _ID, nullable=False),
        sa.Column('address', sa.String(length=254), nullable=True),
        sa.Column('verified_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('pending_address', sa.String(length=254), nullable=True),
        sa.Column('token_hash', sa.String(length=64), nullable=True),
        sa.Column('token_expires_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['seller_id'], ['sellers.id'],
                                name=op.f('fk_seller_emails_seller_id_sellers')),
        sa.PrimaryKeyConstraint('seller_id', name=op.f('pk_seller_emails')),
        sa.UniqueConstraint('token_hash', name=op.f('uq_seller_emails_token_hash')),
    )
    with op.batch_alter_table('case_messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('unread_notice_at', sa.DateTime(timezone=True),
                                      nullable=True))
    # Replies from before this migration are not emailed about: the sweep starts with new ones.
    op.execute("UPDATE case_messages SET unread_notice_at = created_at "
               "WHERE author_kind = 'agent' AND read_at IS NULL")
    op.create_index('ix_case_messages_unread_notice', 'case_messages', ['created_at'],
                    unique=False, postgresql_where=sa.text(_UNREAD_NOTICE_DUE),
                    sqlite_where=sa.text(_UNREAD_NOTICE_DUE))


def downgrade() -> None:
    op.drop_index('ix_case_messages_unread_notice', table_name='case_messages')
    with op.batch_alter_table('case_messages', schema=None) as batch_op:
        batch_op.drop_column('unread_notice_at')
    op.drop_table('seller_emails')
    op.drop_index('ix_web_chat_lines_address', table_name='web_chat_lines')
    op.drop_table('web_chat_lines')
