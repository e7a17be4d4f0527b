"""mail tracking: tracked messages, sightings, folder checkpoints, quarantine, attachments and blobs

Revision ID: e1a5c0de0004
Revises: e1a5c0de0003
Create Date: 2026-11-24 01:35:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import crm_core.db.types

revision: str = 'e1a5c0de0004'
down_revision: str | None = 'e1a5c0de0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('mail_blobs',
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('content', sa.LargeBinary(), nullable=False),
    sa.Column('created_on', crm_core.db.types.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('sha256', name=op.f('pk_mail_blobs'))
    )
    op.create_table('email_attachments',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('email_id', sa.Uuid(), nullable=False),
    sa.Column('filename', sa.String(length=400), nullable=True),
    sa.Column('content_type', sa.String(length=200), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('content_id', sa.String(length=400), nullable=True),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('too_large', sa.Boolean(), nullable=False),
    sa.Column('inline', sa.Boolean(), nullable=False),
    sa.Column('is_tnef', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['email_id'], ['activities.id'], name=op.f('fk_email_attachments_email_id_activities'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_email_attachments'))
    )
    with op.batch_alter_table('email_attachments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_email_attachments_email_id'), ['email_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_email_attachments_sha256'), ['sha256'], unique=False)

    op.create_table('tracked_messages',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('email_id', sa.Uuid(), nullable=False),
    sa.Column('message_id', sa.String(length=998), nullable=True),
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.Column('thread_key', sa.String(length=64), nullable=True),
    sa.Column('signal', sa.String(length=16), nullable=False),
    sa.Column('confidence', sa.Float(), nullable=False),
    sa.Column('link_status', sa.String(length=16), nullable=False),
    sa.Column('candidates', crm_core.db.types.JsonDoc, nullable=False),
    sa.Column('correlated_email_id', sa.Uuid(), nullable=True),
    sa.Column('raw_sha256', sa.String(length=64), nullable=True),
    sa.Column('raw_size', sa.BigInteger(), nullable=False),
    sa.Column('defects', crm_core.db.types.JsonDoc, nullable=False),
    sa.Column('is_auto_reply', sa.Boolean(), nullable=False),
    sa.Column('is_bulk', sa.Boolean(), nullable=False),
    sa.Column('created_on', crm_core.db.types.UtcDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("link_status IN ('linked', 'unlinked', 'needs_review', 'reviewed')", name=op.f('ck_tracked_messages_link_status')),
    sa.CheckConstraint("signal IN ('token', 'in_reply_to', 'references', 'conversation', 'address', 'smart_match', 'manual', 'none')", name=op.f('ck_tracked_messages_signal')),
    sa.CheckConstraint('confidence >= 0 AND confidence <= 1', name=op.f('ck_tracked_messages_confidence')),
    sa.ForeignKeyConstraint(['correlated_email_id'], ['activities.id'], name=op.f('fk_tracked_messages_correlated_email_id_activities'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['email_id'], ['activities.id'], name=op.f('fk_tracked_messages_email_id_activities'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['raw_sha256'], ['mail_blobs.sha256'], name=op.f('fk_tracked_messages_raw_sha256_mail_blobs')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tracked_messages')),
    sa.UniqueConstraint('email_id', name=op.f('uq_tracked_messages_email_id'))
    )
    with op.batch_alter_table('tracked_messages', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_tracked_messages_fingerprint'), ['fingerprint'], unique=False)
        batch_op.create_index(batch_op.f('ix_tracked_messages_message_id'), ['message_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_tracked_messages_thread_key'), ['thread_key'], unique=False)

    op.create_table('mail_folder_checkpoints',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('mailbox_id', sa.Uuid(), nullable=False),
    sa.Column('folder', sa.String(length=500), nullable=False),
    sa.Column('state', crm_core.db.types.JsonDoc, nullable=False),
    sa.Column('synced_on', crm_core.db.types.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['mailbox_id'], ['mailboxes.id'], name=op.f('fk_mail_folder_checkpoints_mailbox_id_mailboxes'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mail_folder_checkpoints')),
    sa.UniqueConstraint('mailbox_id', 'folder', name='uq_mail_folder_checkpoints_place')
    )
    op.create_table('mail_quarantine',
    sa.Column('mailbox_id', sa.Uuid(), nullable=False),
    sa.Column('folder', sa.String(length=500), nullable=False),
    sa.Column('uidvalidity', sa.BigInteger(), nullable=True),
    sa.Column('uid', sa.BigInteger(), nullable=True),
    sa.Column('raw_sha256', sa.String(length=64), nullable=False),
    sa.Column('raw_size', sa.BigInteger(), nullable=False),
    sa.Column('reason', sa.String(length=32), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('quarantined_on', crm_core.db.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_on', crm_core.db.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('modified_on', crm_core.db.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('created_by_id', sa.Uuid(), nullable=True),
    sa.Column('modified_by_id', sa.Uuid(), nullable=True),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_mail_quarantine_created_by_id_users'), ondelete='SET NULL', use_alter=True),
    sa.ForeignKeyConstraint(['mailbox_id'], ['mailboxes.id'], name=op.f('fk_mail_quarantine_mailbox_id_mailboxes'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['modified_by_id'], ['users.id'], name=op.f('fk_mail_quarantine_modified_by_id_users'), ondelete='SET NULL', use_alter=True),
    sa.ForeignKeyConstraint(['raw_sha256'], ['mail_blobs.sha256'], name=op.f('fk_mail_quarantine_raw_sha256_mail_blobs')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mail_quarantine')),
    sa.UniqueConstraint('mailbox_id', 'raw_sha256', name='uq_mail_quarantine_content')
    )
    with op.batch_alter_table('mail_quarantine', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_mail_quarantine_created_on'), ['created_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_mail_quarantine_mailbox_id'), ['mailbox_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_mail_quarantine_reason'), ['reason'], unique=False)

    op.create_table('mail_sightings',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('tracked_message_id', sa.Uuid(), nullable=False),
    sa.Column('mailbox_id', sa.Uuid(), nullable=False),
    sa.Column('folder', sa.String(length=500), nullable=False),
    sa.Column('uidvalidity', sa.BigInteger(), nullable=False),
    sa.Column('uid', sa.BigInteger(), nullable=False),
    sa.Column('seen_on', crm_core.db.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('vanished_on', crm_core.db.types.UtcDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['mailbox_id'], ['mailboxes.id'], name=op.f('fk_mail_sightings_mailbox_id_mailboxes'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tracked_message_id'], ['tracked_messages.id'], name=op.f('fk_mail_sightings_tracked_message_id_tracked_messages'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mail_sightings')),
    sa.UniqueConstraint('mailbox_id', 'folder', 'uidvalidity', 'uid', name='uq_mail_sightings_place')
    )
    with op.batch_alter_table('mail_sightings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_mail_sightings_tracked_message_id'), ['tracked_message_id'], unique=False)

    if op.get_bind().dialect.name != 'sqlite':  # the cycle-closing keys create_table leaves out there
        op.create_foreign_key('fk_mail_quarantine_created_by_id_users', 'mail_quarantine', 'users', ['created_by_id'], ['id'], ondelete='SET NULL')
        op.create_foreign_key('fk_mail_quarantine_modified_by_id_users', 'mail_quarantine', 'users', ['modified_by_id'], ['id'], ondelete='SET NULL')


def downgrade() -> None:
    if op.get_bind().dialect.name != 'sqlite':  # undo the cycle-closing keys first
        op.drop_constraint('fk_mail_quarantine_created_by_id_users', 'mail_quarantine', type_='foreignkey')
        op.drop_constraint('fk_mail_quarantine_modified_by_id_users', 'mail_quarantine', type_='foreignkey')
    with op.batch_alter_table('mail_sightings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_mail_sightings_tracked_message_id'))

    op.drop_table('mail_sightings')
    with op.batch_alter_table('mail_quarantine', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_mail_quarantine_reason'))
        batch_op.drop_index(batch_op.f('ix_mail_quarantine_mailbox_id'))
        batch_op.drop_index(batch_op.f('ix_mail_quarantine_created_on'))

    op.drop_table('mail_quarantine')
    op.drop_table('mail_folder_checkpoints')
    with op.batch_alter_table('tracked_messages', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_tracked_messages_thread_key'))
        batch_op.drop_index(batch_op.f('ix_tracked_messages_message_id'))
        batch_op.drop_index(batch_op.f('ix_tracked_messages_fingerprint'))

    op.drop_table('tracked_messages')
    with op.batch_alter_table('email_attachments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_email_attachments_sha256'))
        batch_op.drop_index(batch_op.f('ix_email_attachments_email_id'))

    op.drop_table('email_attachments')
    op.drop_table('mail_blobs')
