"""Folder-level tracking (issue 5, Exchange): a mailbox's tracked folders, each optionally linked to a regarding
record (Dynamics' mailboxtrackingfolder).

Revision ID: e1a5c0de0015
Revises: e1a5c0de0014
Create Date: 2026-11-24 18:27:14.173435
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import crm_core.db.types

revision: str = 'e1a5c0de0015'
down_revision: str | None = 'e1a5c0de0014'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('mailbox_tracking_folders',
    sa.Column('mailbox_id', sa.Uuid(), nullable=False),
    sa.Column('folder', sa.String(length=200), nullable=False),
    sa.Column('regarding_type', sa.String(length=64), nullable=True),
    sa.Column('regarding_id', sa.Uuid(), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_on', crm_core.db.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('modified_on', crm_core.db.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('created_by_id', sa.Uuid(), nullable=True),
    sa.Column('modified_by_id', sa.Uuid(), nullable=True),
    sa.CheckConstraint('(regarding_type IS NULL) = (regarding_id IS NULL)', name=op.f('ck_mailbox_tracking_folders_regarding_pair')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_mailbox_tracking_folders_created_by_id_users'), ondelete='SET NULL', use_alter=True),
    sa.ForeignKeyConstraint(['mailbox_id'], ['mailboxes.id'], name=op.f('fk_mailbox_tracking_folders_mailbox_id_mailboxes'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['modified_by_id'], ['users.id'], name=op.f('fk_mailbox_tracking_folders_modified_by_id_users'), ondelete='SET NULL', use_alter=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mailbox_tracking_folders')),
    sa.UniqueConstraint('mailbox_id', 'folder', name='uq_mailbox_tracking_folders_folder')
    )
    with op.batch_alter_table('mailbox_tracking_folders', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_mailbox_tracking_folders_created_on'), ['created_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_mailbox_tracking_folders_mailbox_id'), ['mailbox_id'], unique=False)

    if op.get_bind().dialect.name != 'sqlite':  # the cycle-closing keys create_table leaves out there
        op.create_foreign_key('fk_mailbox_tracking_folders_created_by_id_users', 'mailbox_tracking_folders', 'users',
                              ['created_by_id'], ['id'], ondelete='SET NULL')
        op.create_foreign_key('fk_mailbox_tracking_folders_modified_by_id_users', 'mailbox_tracking_folders', 'users',
                              ['modified_by_id'], ['id'], ondelete='SET NULL')


def downgrade() -> None:
    with op.batch_alter_table('mailbox_tracking_folders', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_mailbox_tracking_folders_mailbox_id'))
        batch_op.drop_index(batch_op.f('ix_mailbox_tracking_folders_created_on'))

    op.drop_table('mailbox_tracking_folders')
