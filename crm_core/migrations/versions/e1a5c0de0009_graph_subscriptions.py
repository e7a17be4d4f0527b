"""graph subscriptions: Graph change-notification subscriptions per mailbox folder, a requested sync on mailboxes

Revision ID: e1a5c0de0009
Revises: e1a5c0de0008
Create Date: 2026-11-26 10:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import crm_core.db.types

revision: str = 'e1a5c0de0009'
down_revision: str | None = 'e1a5c0de0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('graph_subscriptions',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('mailbox_id', sa.Uuid(), nullable=False),
    sa.Column('folder', sa.String(length=500), nullable=False),
    sa.Column('subscription_id', sa.String(length=100), nullable=False),
    sa.Column('client_state_sha256', sa.String(length=64), nullable=False),
    sa.Column('expires_on', crm_core.db.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('created_on', crm_core.db.types.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['mailbox_id'], ['mailboxes.id'], name=op.f('fk_graph_subscriptions_mailbox_id_mailboxes'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_graph_subscriptions')),
    sa.UniqueConstraint('mailbox_id', 'folder', name='uq_graph_subscriptions_folder'),
    sa.UniqueConstraint('subscription_id', name=op.f('uq_graph_subscriptions_subscription_id'))
    )
    with op.batch_alter_table('graph_subscriptions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_graph_subscriptions_mailbox_id'), ['mailbox_id'], unique=False)

    with op.batch_alter_table('mailboxes', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sync_requested_on', crm_core.db.types.UtcDateTime(timezone=True),
                                      nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('mailboxes', schema=None) as batch_op:
        batch_op.drop_column('sync_requested_on')

    with op.batch_alter_table('graph_subscriptions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_graph_subscriptions_mailbox_id'))

    op.drop_table('graph_subscriptions')
