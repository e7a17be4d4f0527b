"""mail review and privacy

Tracked messages gain review marks (who decided a link, when), redaction and untracking dates; a tombstone
(an untracked mail: Message-ID and fingerprint, no email) has no email_id. Quarantine rows are audited
(no schema change for that).

Revision ID: e1a5c0de0005
Revises: e1a5c0de0004
Create Date: 2026-11-24 02:05:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import crm_core.db.types

revision: str = 'e1a5c0de0005'
down_revision: str | None = 'e1a5c0de0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('tracked_messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reviewed_on', crm_core.db.types.UtcDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('reviewed_by_id', sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column('redacted_on', crm_core.db.types.UtcDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('untracked_on', crm_core.db.types.UtcDateTime(timezone=True), nullable=True))
        batch_op.alter_column('email_id', existing_type=sa.Uuid(), nullable=True)


def downgrade() -> None:
    # Tombstones cannot stay without an email: they go (a later sync may track those mails again).
    op.execute("DELETE FROM mail_sightings WHERE tracked_message_id IN "
               "(SELECT id FROM tracked_messages WHERE email_id IS NULL)")
    op.execute("DELETE FROM tracked_messages WHERE email_id IS NULL")
    with op.batch_alter_table('tracked_messages', schema=None) as batch_op:
        batch_op.alter_column('email_id', existing_type=sa.Uuid(), nullable=False)
        batch_op.drop_column('untracked_on')
        batch_op.drop_column('redacted_on')
        batch_op.drop_column('reviewed_by_id')
        batch_op.drop_column('reviewed_on')
