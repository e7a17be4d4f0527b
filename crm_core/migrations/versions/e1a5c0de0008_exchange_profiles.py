"""exchange profiles: EWS and Graph settings on email server profiles, a stopped sync on mailboxes

Revision ID: e1a5c0de0008
Revises: e1a5c0de0007
Create Date: 2026-11-24 10:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import crm_core.db.types

revision: str = 'e1a5c0de0008'
down_revision: str | None = 'e1a5c0de0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_PROFILE_COLUMNS = (
    ('service_url', sa.String(length=500)),
    ('auth_type', sa.String(length=12)),
    ('authority_url', sa.String(length=500)),
    ('tenant_id', sa.String(length=100)),
    ('client_id', sa.String(length=100)),
    ('client_secret_secret', sa.Text()),
    ('client_certificate_secret', sa.Text()),
    ('client_certificate_thumbprint', sa.String(length=64)),
    ('mark_category', sa.String(length=255)),
)
_MAILBOX_COLUMNS = (
    ('sync_stopped_on', crm_core.db.types.UtcDateTime(timezone=True)),
    ('sync_stopped_reason', sa.String(length=32)),
    ('sync_stopped_message', sa.Text()),
)


def upgrade() -> None:
    with op.batch_alter_table('email_server_profiles', schema=None) as batch_op:
        for name, type_ in _PROFILE_COLUMNS:
            batch_op.add_column(sa.Column(name, type_, nullable=True))
        batch_op.drop_constraint(op.f('ck_email_server_profiles_outgoing_protocol'), type_='check')
        batch_op.create_check_constraint(op.f('ck_email_server_profiles_outgoing_protocol'),
                                         "outgoing_protocol IN ('smtp', 'ews', 'graph')")
    with op.batch_alter_table('mailboxes', schema=None) as batch_op:
        for name, type_ in _MAILBOX_COLUMNS:
            batch_op.add_column(sa.Column(name, type_, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('mailboxes', schema=None) as batch_op:
        for name, _type in reversed(_MAILBOX_COLUMNS):
            batch_op.drop_column(name)
    with op.batch_alter_table('email_server_profiles', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_email_server_profiles_outgoing_protocol'), type_='check')
        batch_op.create_check_constraint(op.f('ck_email_server_profiles_outgoing_protocol'),
                                         "outgoing_protocol = 'smtp'")
        for name, _type in reversed(_PROFILE_COLUMNS):
            batch_op.drop_column(name)
