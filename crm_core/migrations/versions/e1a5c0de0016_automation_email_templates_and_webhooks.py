"""Automation (issue 11): email templates (Dynamics' template), outbound webhooks, and the webhook outbox
(deliveries written with the event, and every attempt).

Revision ID: e1a5c0de0016
Revises: e1a5c0de0015
Create Date: 2026-11-24 18:43:13.421552
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

import crm_core.db.types

revision: str = 'e1a5c0de0016'
down_revision: str | None = 'e1a5c0de0015'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('webhooks',
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('url', sa.String(length=2000), nullable=False),
    sa.Column('events', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=False),
    sa.Column('entities', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=False),
    sa.Column('secret_secret', sa.Text(), nullable=False),
    sa.Column('is_enabled', sa.Boolean(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_on', crm_core.db.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('modified_on', crm_core.db.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('created_by_id', sa.Uuid(), nullable=True),
    sa.Column('modified_by_id', sa.Uuid(), nullable=True),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_webhooks_created_by_id_users'), ondelete='SET NULL', use_alter=True),
    sa.ForeignKeyConstraint(['modified_by_id'], ['users.id'], name=op.f('fk_webhooks_modified_by_id_users'), ondelete='SET NULL', use_alter=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_webhooks'))
    )
    with op.batch_alter_table('webhooks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_webhooks_created_on'), ['created_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_webhooks_is_enabled'), ['is_enabled'], unique=False)

    op.create_table('email_templates',
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('target_entity', sa.String(length=64), nullable=True),
    sa.Column('language_code', sa.String(length=35), nullable=False),
    sa.Column('subject', sa.String(length=1000), nullable=False),
    sa.Column('body_text', sa.Text(), nullable=True),
    sa.Column('body_html', sa.Text(), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_on', crm_core.db.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('modified_on', crm_core.db.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('created_by_id', sa.Uuid(), nullable=True),
    sa.Column('modified_by_id', sa.Uuid(), nullable=True),
    sa.Column('owning_user_id', sa.Uuid(), nullable=True),
    sa.Column('owning_team_id', sa.Uuid(), nullable=True),
    sa.Column('owning_business_unit_id', sa.Uuid(), nullable=False),
    sa.CheckConstraint('(owning_user_id IS NULL) <> (owning_team_id IS NULL)', name=op.f('ck_email_templates_one_owner')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_email_templates_created_by_id_users'), ondelete='SET NULL', use_alter=True),
    sa.ForeignKeyConstraint(['modified_by_id'], ['users.id'], name=op.f('fk_email_templates_modified_by_id_users'), ondelete='SET NULL', use_alter=True),
    sa.ForeignKeyConstraint(['owning_business_unit_id'], ['business_units.id'], name=op.f('fk_email_templates_owning_business_unit_id_business_units')),
    sa.ForeignKeyConstraint(['owning_team_id'], ['teams.id'], name=op.f('fk_email_templates_owning_team_id_teams'), use_alter=True),
    sa.ForeignKeyConstraint(['owning_user_id'], ['users.id'], name=op.f('fk_email_templates_owning_user_id_users'), use_alter=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_email_templates'))
    )
    with op.batch_alter_table('email_templates', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_email_templates_created_on'), ['created_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_email_templates_owning_business_unit_id'), ['owning_business_unit_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_email_templates_owning_team_id'), ['owning_team_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_email_templates_owning_user_id'), ['owning_user_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_email_templates_target_entity'), ['target_entity'], unique=False)

    op.create_table('webhook_deliveries',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('webhook_id', sa.Uuid(), nullable=False),
    sa.Column('event_id', sa.Uuid(), nullable=False),
    sa.Column('event_type', sa.String(length=64), nullable=False),
    sa.Column('entity', sa.String(length=64), nullable=True),
    sa.Column('record_id', sa.Uuid(), nullable=True),
    sa.Column('payload', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('attempt_count', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', crm_core.db.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('created_on', crm_core.db.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('completed_on', crm_core.db.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.CheckConstraint("status IN ('pending', 'delivered', 'failed')", name=op.f('ck_webhook_deliveries_status')),
    sa.ForeignKeyConstraint(['webhook_id'], ['webhooks.id'], name=op.f('fk_webhook_deliveries_webhook_id_webhooks'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_webhook_deliveries'))
    )
    with op.batch_alter_table('webhook_deliveries', schema=None) as batch_op:
        batch_op.create_index('ix_webhook_deliveries_due', ['status', 'next_attempt_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_webhook_deliveries_webhook_id'), ['webhook_id'], unique=False)

    op.create_table('webhook_attempts',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('delivery_id', sa.Uuid(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('attempted_on', crm_core.db.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('status_code', sa.Integer(), nullable=True),
    sa.Column('duration_ms', sa.Integer(), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('response_excerpt', sa.Text(), nullable=True),
    sa.Column('next_attempt_at', crm_core.db.types.UtcDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['delivery_id'], ['webhook_deliveries.id'], name=op.f('fk_webhook_attempts_delivery_id_webhook_deliveries'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_webhook_attempts'))
    )
    with op.batch_alter_table('webhook_attempts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_webhook_attempts_delivery_id'), ['delivery_id'], unique=False)

    if op.get_bind().dialect.name != 'sqlite':  # the cycle-closing keys create_table leaves out there
        for table in ('webhooks', 'email_templates'):
            for column in ('created_by_id', 'modified_by_id'):
                op.create_foreign_key(f'fk_{table}_{column}_users', table, 'users', [column], ['id'],
                                      ondelete='SET NULL')
        op.create_foreign_key('fk_email_templates_owning_user_id_users', 'email_templates', 'users',
                              ['owning_user_id'], ['id'])
        op.create_foreign_key('fk_email_templates_owning_team_id_teams', 'email_templates', 'teams',
                              ['owning_team_id'], ['id'])


def downgrade() -> None:
    with op.batch_alter_table('webhook_attempts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_webhook_attempts_delivery_id'))

    op.drop_table('webhook_attempts')
    with op.batch_alter_table('webhook_deliveries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_webhook_deliveries_webhook_id'))
        batch_op.drop_index('ix_webhook_deliveries_due')

    op.drop_table('webhook_deliveries')
    with op.batch_alter_table('email_templates', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_email_templates_target_entity'))
        batch_op.drop_index(batch_op.f('ix_email_templates_owning_user_id'))
        batch_op.drop_index(batch_op.f('ix_email_templates_owning_team_id'))
        batch_op.drop_index(batch_op.f('ix_email_templates_owning_business_unit_id'))
        batch_op.drop_index(batch_op.f('ix_email_templates_created_on'))

    op.drop_table('email_templates')
    with op.batch_alter_table('webhooks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_webhooks_is_enabled'))
        batch_op.drop_index(batch_op.f('ix_webhooks_created_on'))

    op.drop_table('webhooks')
