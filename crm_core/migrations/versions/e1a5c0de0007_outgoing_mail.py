"""outgoing mail

Revision ID: e1a5c0de0007
Revises: e1a5c0de0006
Create Date: 2026-11-24 02:05:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'e1a5c0de0007'
down_revision: str | None = 'e1a5c0de0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('emails', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sending_mailbox_id', sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column('send_attempts', sa.SmallInteger(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('send_error', sa.Text(), nullable=True))
    if op.get_bind().dialect.name != 'sqlite':  # emails and mailboxes point at each other through users
        op.create_foreign_key('fk_emails_sending_mailbox_id_mailboxes', 'emails', 'mailboxes',
                              ['sending_mailbox_id'], ['id'], ondelete='SET NULL')
    else:
        with op.batch_alter_table('emails', schema=None) as batch_op:
            batch_op.create_foreign_key('fk_emails_sending_mailbox_id_mailboxes', 'mailboxes',
                                        ['sending_mailbox_id'], ['id'], ondelete='SET NULL')


def downgrade() -> None:
    if op.get_bind().dialect.name != 'sqlite':
        op.drop_constraint('fk_emails_sending_mailbox_id_mailboxes', 'emails', type_='foreignkey')
    with op.batch_alter_table('emails', schema=None) as batch_op:
        if op.get_bind().dialect.name == 'sqlite':
            batch_op.drop_constraint('fk_emails_sending_mailbox_id_mailboxes', type_='foreignkey')
        batch_op.drop_column('send_error')
        batch_op.drop_column('send_attempts')
        batch_op.drop_column('sending_mailbox_id')
