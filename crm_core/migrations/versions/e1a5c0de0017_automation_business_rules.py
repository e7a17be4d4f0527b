"""Automation (issue 11): business rules (trigger, conditions, actions, stored as data), their versions, the
rule event outbox (written with the change), every run (one per rule and event) and the time-driven scans.

Revision ID: e1a5c0de0017
Revises: e1a5c0de0016
Create Date: 2026-11-24 19:06:17.148466
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

import crm_core.db.types

revision: str = 'e1a5c0de0017'
down_revision: str | None = 'e1a5c0de0016'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('rule_events',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('event_type', sa.String(length=64), nullable=False),
    sa.Column('entity', sa.String(length=64), nullable=False),
    sa.Column('record_id', sa.Uuid(), nullable=False),
    sa.Column('changes', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=True),
    sa.Column('occurred_on', crm_core.db.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('depth', sa.Integer(), nullable=False),
    sa.Column('chain', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=False),
    sa.Column('origin_run_id', sa.Uuid(), nullable=True),
    sa.Column('processed_on', crm_core.db.types.UtcDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rule_events'))
    )
    with op.batch_alter_table('rule_events', schema=None) as batch_op:
        batch_op.create_index('ix_rule_events_pending', ['processed_on', 'occurred_on'], unique=False)

    op.create_table('business_rules',
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('entity', sa.String(length=64), nullable=False),
    sa.Column('trigger', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=False),
    sa.Column('conditions', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=True),
    sa.Column('actions', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=False),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('activated_on', crm_core.db.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_on', crm_core.db.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('modified_on', crm_core.db.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('created_by_id', sa.Uuid(), nullable=True),
    sa.Column('modified_by_id', sa.Uuid(), nullable=True),
    sa.Column('owning_user_id', sa.Uuid(), nullable=True),
    sa.Column('owning_team_id', sa.Uuid(), nullable=True),
    sa.Column('owning_business_unit_id', sa.Uuid(), nullable=False),
    sa.CheckConstraint('(owning_user_id IS NULL) <> (owning_team_id IS NULL)', name=op.f('ck_business_rules_one_owner')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_business_rules_created_by_id_users'), ondelete='SET NULL', use_alter=True),
    sa.ForeignKeyConstraint(['modified_by_id'], ['users.id'], name=op.f('fk_business_rules_modified_by_id_users'), ondelete='SET NULL', use_alter=True),
    sa.ForeignKeyConstraint(['owning_business_unit_id'], ['business_units.id'], name=op.f('fk_business_rules_owning_business_unit_id_business_units')),
    sa.ForeignKeyConstraint(['owning_team_id'], ['teams.id'], name=op.f('fk_business_rules_owning_team_id_teams'), use_alter=True),
    sa.ForeignKeyConstraint(['owning_user_id'], ['users.id'], name=op.f('fk_business_rules_owning_user_id_users'), use_alter=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_business_rules'))
    )
    with op.batch_alter_table('business_rules', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_business_rules_created_on'), ['created_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_business_rules_entity'), ['entity'], unique=False)
        batch_op.create_index(batch_op.f('ix_business_rules_is_active'), ['is_active'], unique=False)
        batch_op.create_index(batch_op.f('ix_business_rules_owning_business_unit_id'), ['owning_business_unit_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_business_rules_owning_team_id'), ['owning_team_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_business_rules_owning_user_id'), ['owning_user_id'], unique=False)

    op.create_table('business_rule_runs',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('rule_id', sa.Uuid(), nullable=False),
    sa.Column('rule_version', sa.Integer(), nullable=False),
    sa.Column('event_key', sa.String(length=200), nullable=False),
    sa.Column('event_type', sa.String(length=64), nullable=False),
    sa.Column('event_id', sa.Uuid(), nullable=True),
    sa.Column('entity', sa.String(length=64), nullable=False),
    sa.Column('record_id', sa.Uuid(), nullable=True),
    sa.Column('outcome', sa.String(length=16), nullable=False),
    sa.Column('actions', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('depth', sa.Integer(), nullable=False),
    sa.Column('origin_run_id', sa.Uuid(), nullable=True),
    sa.Column('started_on', crm_core.db.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('finished_on', crm_core.db.types.UtcDateTime(timezone=True), nullable=True),
    sa.CheckConstraint("outcome IN ('succeeded', 'failed', 'loop_stopped')", name=op.f('ck_business_rule_runs_outcome')),
    sa.ForeignKeyConstraint(['rule_id'], ['business_rules.id'], name=op.f('fk_business_rule_runs_rule_id_business_rules'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_business_rule_runs')),
    sa.UniqueConstraint('rule_id', 'event_key', name='uq_business_rule_runs_rule_event')
    )
    with op.batch_alter_table('business_rule_runs', schema=None) as batch_op:
        batch_op.create_index('ix_business_rule_runs_history', ['rule_id', 'started_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_business_rule_runs_rule_id'), ['rule_id'], unique=False)

    op.create_table('business_rule_scans',
    sa.Column('rule_id', sa.Uuid(), nullable=False),
    sa.Column('scanned_until', crm_core.db.types.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['rule_id'], ['business_rules.id'], name=op.f('fk_business_rule_scans_rule_id_business_rules'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('rule_id', name=op.f('pk_business_rule_scans'))
    )
    op.create_table('business_rule_versions',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('rule_id', sa.Uuid(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('definition', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=False),
    sa.Column('saved_on', crm_core.db.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('saved_by_id', sa.Uuid(), nullable=True),
    sa.ForeignKeyConstraint(['rule_id'], ['business_rules.id'], name=op.f('fk_business_rule_versions_rule_id_business_rules'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['saved_by_id'], ['users.id'], name=op.f('fk_business_rule_versions_saved_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_business_rule_versions')),
    sa.UniqueConstraint('rule_id', 'version', name='uq_business_rule_versions_rule_version')
    )
    with op.batch_alter_table('business_rule_versions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_business_rule_versions_rule_id'), ['rule_id'], unique=False)

    if op.get_bind().dialect.name != 'sqlite':  # the cycle-closing keys create_table leaves out there
        for column in ('created_by_id', 'modified_by_id'):
            op.create_foreign_key(f'fk_business_rules_{column}_users', 'business_rules', 'users', [column], ['id'],
                                  ondelete='SET NULL')
        op.create_foreign_key('fk_business_rules_owning_user_id_users', 'business_rules', 'users',
                              ['owning_user_id'], ['id'])
        op.create_foreign_key('fk_business_rules_owning_team_id_teams', 'business_rules', 'teams',
                              ['owning_team_id'], ['id'])


def downgrade() -> None:
    with op.batch_alter_table('business_rule_versions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_business_rule_versions_rule_id'))

    op.drop_table('business_rule_versions')
    op.drop_table('business_rule_scans')
    with op.batch_alter_table('business_rule_runs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_business_rule_runs_rule_id'))
        batch_op.drop_index('ix_business_rule_runs_history')

    op.drop_table('business_rule_runs')
    with op.batch_alter_table('business_rules', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_business_rules_owning_user_id'))
        batch_op.drop_index(batch_op.f('ix_business_rules_owning_team_id'))
        batch_op.drop_index(batch_op.f('ix_business_rules_owning_business_unit_id'))
        batch_op.drop_index(batch_op.f('ix_business_rules_is_active'))
        batch_op.drop_index(batch_op.f('ix_business_rules_entity'))
        batch_op.drop_index(batch_op.f('ix_business_rules_created_on'))

    op.drop_table('business_rules')
    with op.batch_alter_table('rule_events', schema=None) as batch_op:
        batch_op.drop_index('ix_rule_events_pending')

    op.drop_table('rule_events')
