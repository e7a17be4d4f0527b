"""email to case rules: case creation rules, their items, and the decisions they made about tracked mail

Revision ID: e1a5c0de0006
Revises: e1a5c0de0005
Create Date: 2026-11-24 02:05:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import crm_core.db.types

revision: str = 'e1a5c0de0006'
down_revision: str | None = 'e1a5c0de0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('case_creation_rules',
    sa.Column('name', sa.String(length=160), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('queue_id', sa.Uuid(), nullable=False),
    sa.Column('allow_unknown_sender', sa.Boolean(), nullable=False),
    sa.Column('check_active_contract', sa.Boolean(), nullable=False),
    sa.Column('send_acknowledgement', sa.Boolean(), nullable=False),
    sa.Column('acknowledgement_subject', sa.String(length=400), nullable=False),
    sa.Column('acknowledgement_body', sa.Text(), nullable=False),
    sa.Column('acknowledgement_limit', sa.SmallInteger(), nullable=False),
    sa.Column('reply_to_resolved', sa.String(length=10), nullable=False),
    sa.Column('resolved_since_days', sa.SmallInteger(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_on', crm_core.db.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('modified_on', crm_core.db.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('created_by_id', sa.Uuid(), nullable=True),
    sa.Column('modified_by_id', sa.Uuid(), nullable=True),
    sa.Column('statecode', sa.SmallInteger(), nullable=False),
    sa.Column('statuscode', sa.SmallInteger(), nullable=False),
    sa.CheckConstraint("reply_to_resolved IN ('reopen', 'new_case')", name=op.f('ck_case_creation_rules_reply_to_resolved')),
    sa.CheckConstraint('acknowledgement_limit BETWEEN 0 AND 100', name=op.f('ck_case_creation_rules_acknowledgement_limit')),
    sa.CheckConstraint('resolved_since_days BETWEEN 0 AND 3650', name=op.f('ck_case_creation_rules_resolved_since_days')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_case_creation_rules_created_by_id_users'), ondelete='SET NULL', use_alter=True),
    sa.ForeignKeyConstraint(['modified_by_id'], ['users.id'], name=op.f('fk_case_creation_rules_modified_by_id_users'), ondelete='SET NULL', use_alter=True),
    sa.ForeignKeyConstraint(['queue_id'], ['queues.id'], name=op.f('fk_case_creation_rules_queue_id_queues')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_creation_rules'))
    )
    with op.batch_alter_table('case_creation_rules', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_case_creation_rules_created_on'), ['created_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_case_creation_rules_queue_id'), ['queue_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_case_creation_rules_statecode'), ['statecode'], unique=False)
        batch_op.create_index('uq_case_creation_rules_one_active', ['queue_id'], unique=True,
                              sqlite_where=sa.text('statecode = 1'), postgresql_where=sa.text('statecode = 1'))

    op.create_table('case_creation_rule_items',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('rule_id', sa.Uuid(), nullable=False),
    sa.Column('sequence_number', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=160), nullable=True),
    sa.Column('conditions', crm_core.db.types.JsonDoc, nullable=False),
    sa.Column('priority_code', sa.SmallInteger(), nullable=True),
    sa.Column('case_type_code', sa.SmallInteger(), nullable=True),
    sa.Column('subject_id', sa.Uuid(), nullable=True),
    sa.Column('assign_user_id', sa.Uuid(), nullable=True),
    sa.Column('assign_team_id', sa.Uuid(), nullable=True),
    sa.CheckConstraint('assign_user_id IS NULL OR assign_team_id IS NULL', name=op.f('ck_case_creation_rule_items_one_owner')),
    sa.ForeignKeyConstraint(['assign_team_id'], ['teams.id'], name=op.f('fk_case_creation_rule_items_assign_team_id_teams')),
    sa.ForeignKeyConstraint(['assign_user_id'], ['users.id'], name=op.f('fk_case_creation_rule_items_assign_user_id_users')),
    sa.ForeignKeyConstraint(['rule_id'], ['case_creation_rules.id'], name=op.f('fk_case_creation_rule_items_rule_id_case_creation_rules'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['subject_id'], ['subjects.id'], name=op.f('fk_case_creation_rule_items_subject_id_subjects')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_creation_rule_items'))
    )
    with op.batch_alter_table('case_creation_rule_items', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_case_creation_rule_items_rule_id'), ['rule_id'], unique=False)

    op.create_table('case_rule_decisions',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('email_id', sa.Uuid(), nullable=False),
    sa.Column('rule_id', sa.Uuid(), nullable=True),
    sa.Column('item_id', sa.Uuid(), nullable=True),
    sa.Column('sender_address', sa.String(length=320), nullable=True),
    sa.Column('outcome', sa.String(length=10), nullable=False),
    sa.Column('reason', sa.String(length=32), nullable=True),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.Column('case_id', sa.Uuid(), nullable=True),
    sa.Column('acknowledgement', sa.String(length=16), nullable=False),
    sa.Column('acknowledgement_id', sa.Uuid(), nullable=True),
    sa.Column('decided_on', crm_core.db.types.UtcDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("acknowledgement IN ('queued', 'off', 'no_case', 'machine_mail', 'own_address', 'limit_reached', 'no_address')", name=op.f('ck_case_rule_decisions_acknowledgement')),
    sa.CheckConstraint("outcome IN ('created', 'added', 'reopened', 'skipped', 'failed')", name=op.f('ck_case_rule_decisions_outcome')),
    sa.ForeignKeyConstraint(['acknowledgement_id'], ['activities.id'], name=op.f('fk_case_rule_decisions_acknowledgement_id_activities'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_case_rule_decisions_case_id_cases'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['email_id'], ['activities.id'], name=op.f('fk_case_rule_decisions_email_id_activities'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['item_id'], ['case_creation_rule_items.id'], name=op.f('fk_case_rule_decisions_item_id_case_creation_rule_items'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['rule_id'], ['case_creation_rules.id'], name=op.f('fk_case_rule_decisions_rule_id_case_creation_rules'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_rule_decisions')),
    sa.UniqueConstraint('email_id', name=op.f('uq_case_rule_decisions_email_id'))
    )
    with op.batch_alter_table('case_rule_decisions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_case_rule_decisions_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_case_rule_decisions_decided_on'), ['decided_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_case_rule_decisions_rule_id'), ['rule_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_case_rule_decisions_sender_address'), ['sender_address'], unique=False)

    if op.get_bind().dialect.name != 'sqlite':  # the cycle-closing keys create_table leaves out there
        op.create_foreign_key('fk_case_creation_rules_created_by_id_users', 'case_creation_rules', 'users', ['created_by_id'], ['id'], ondelete='SET NULL')
        op.create_foreign_key('fk_case_creation_rules_modified_by_id_users', 'case_creation_rules', 'users', ['modified_by_id'], ['id'], ondelete='SET NULL')


def downgrade() -> None:
    if op.get_bind().dialect.name != 'sqlite':  # undo the cycle-closing keys first
        op.drop_constraint('fk_case_creation_rules_created_by_id_users', 'case_creation_rules', type_='foreignkey')
        op.drop_constraint('fk_case_creation_rules_modified_by_id_users', 'case_creation_rules', type_='foreignkey')
    with op.batch_alter_table('case_rule_decisions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_case_rule_decisions_sender_address'))
        batch_op.drop_index(batch_op.f('ix_case_rule_decisions_rule_id'))
        batch_op.drop_index(batch_op.f('ix_case_rule_decisions_decided_on'))
        batch_op.drop_index(batch_op.f('ix_case_rule_decisions_case_id'))

    op.drop_table('case_rule_decisions')
    with op.batch_alter_table('case_creation_rule_items', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_case_creation_rule_items_rule_id'))

    op.drop_table('case_creation_rule_items')
    with op.batch_alter_table('case_creation_rules', schema=None) as batch_op:
        batch_op.drop_index('uq_case_creation_rules_one_active', sqlite_where=sa.text('statecode = 1'),
                            postgresql_where=sa.text('statecode = 1'))
        batch_op.drop_index(batch_op.f('ix_case_creation_rules_statecode'))
        batch_op.drop_index(batch_op.f('ix_case_creation_rules_queue_id'))
        batch_op.drop_index(batch_op.f('ix_case_creation_rules_created_on'))

    op.drop_table('case_creation_rules')
