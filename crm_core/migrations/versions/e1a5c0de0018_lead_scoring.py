"""Lead scoring (issue 11): the administrators' scoring models (weighted rules and grade thresholds), the trained
predictive models (joblib bytes, held-out AUC, importances) and each lead's latest score of each kind.

Revision ID: e1a5c0de0018
Revises: e1a5c0de0017
Create Date: 2026-11-24 19:09:07.474486
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

import crm_core.db.types

revision: str = 'e1a5c0de0018'
down_revision: str | None = 'e1a5c0de0017'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('lead_prediction_models',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('trained_on', crm_core.db.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('algorithm', sa.String(length=100), nullable=False),
    sa.Column('library_version', sa.String(length=40), nullable=False),
    sa.Column('won_count', sa.Integer(), nullable=False),
    sa.Column('lost_count', sa.Integer(), nullable=False),
    sa.Column('holdout_count', sa.Integer(), nullable=False),
    sa.Column('holdout_auc', sa.Float(), nullable=False),
    sa.Column('importances', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=False),
    sa.Column('is_current', sa.Boolean(), nullable=False),
    sa.Column('content', sa.LargeBinary(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lead_prediction_models')),
    sa.UniqueConstraint('version', name=op.f('uq_lead_prediction_models_version'))
    )
    with op.batch_alter_table('lead_prediction_models', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_lead_prediction_models_is_current'), ['is_current'], unique=False)
        batch_op.create_index(batch_op.f('ix_lead_prediction_models_trained_on'), ['trained_on'], unique=False)

    op.create_table('lead_scoring_models',
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('rules', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=False),
    sa.Column('grade_thresholds', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=False),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_on', crm_core.db.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('modified_on', crm_core.db.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('created_by_id', sa.Uuid(), nullable=True),
    sa.Column('modified_by_id', sa.Uuid(), nullable=True),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_lead_scoring_models_created_by_id_users'), ondelete='SET NULL', use_alter=True),
    sa.ForeignKeyConstraint(['modified_by_id'], ['users.id'], name=op.f('fk_lead_scoring_models_modified_by_id_users'), ondelete='SET NULL', use_alter=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lead_scoring_models'))
    )
    with op.batch_alter_table('lead_scoring_models', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_lead_scoring_models_created_on'), ['created_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_lead_scoring_models_is_active'), ['is_active'], unique=False)

    op.create_table('lead_scores',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('lead_id', sa.Uuid(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('model_id', sa.Uuid(), nullable=True),
    sa.Column('score', sa.Integer(), nullable=False),
    sa.Column('grade', sa.String(length=1), nullable=True),
    sa.Column('factors', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=False),
    sa.Column('computed_on', crm_core.db.types.UtcDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("kind IN ('rule', 'predictive')", name=op.f('ck_lead_scores_kind')),
    sa.CheckConstraint('score >= 0 AND score <= 100', name=op.f('ck_lead_scores_score_range')),
    sa.ForeignKeyConstraint(['lead_id'], ['leads.id'], name=op.f('fk_lead_scores_lead_id_leads'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lead_scores')),
    sa.UniqueConstraint('lead_id', 'kind', name='uq_lead_scores_lead_kind')
    )
    with op.batch_alter_table('lead_scores', schema=None) as batch_op:
        batch_op.create_index('ix_lead_scores_kind_score', ['kind', 'score'], unique=False)

    if op.get_bind().dialect.name != 'sqlite':  # the cycle-closing keys create_table leaves out there
        for column in ('created_by_id', 'modified_by_id'):
            op.create_foreign_key(f'fk_lead_scoring_models_{column}_users', 'lead_scoring_models', 'users',
                                  [column], ['id'], ondelete='SET NULL')



def downgrade() -> None:
    with op.batch_alter_table('lead_scores', schema=None) as batch_op:
        batch_op.drop_index('ix_lead_scores_kind_score')

    op.drop_table('lead_scores')
    with op.batch_alter_table('lead_scoring_models', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_lead_scoring_models_is_active'))
        batch_op.drop_index(batch_op.f('ix_lead_scoring_models_created_on'))

    op.drop_table('lead_scoring_models')
    with op.batch_alter_table('lead_prediction_models', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_lead_prediction_models_trained_on'))
        batch_op.drop_index(batch_op.f('ix_lead_prediction_models_is_current'))

    op.drop_table('lead_prediction_models')
