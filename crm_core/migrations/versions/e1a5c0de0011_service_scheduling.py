"""service scheduling: resource hours, exceptions, bookings

Revision ID: e1a5c0de0011
Revises: e1a5c0de0010
Create Date: 2026-11-24 12:25:18.923931
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import crm_core.db.types

revision: str = 'e1a5c0de0011'
down_revision: str | None = 'e1a5c0de0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('resource_bookings',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('activity_id', sa.Uuid(), nullable=False),
    sa.Column('resource_id', sa.Uuid(), nullable=False),
    sa.Column('starts_at', crm_core.db.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('ends_at', crm_core.db.types.UtcDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('starts_at < ends_at', name=op.f('ck_resource_bookings_range')),
    sa.ForeignKeyConstraint(['activity_id'], ['activities.id'], name=op.f('fk_resource_bookings_activity_id_activities'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['resource_id'], ['resources.id'], name=op.f('fk_resource_bookings_resource_id_resources'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_resource_bookings'))
    )
    with op.batch_alter_table('resource_bookings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_resource_bookings_activity_id'), ['activity_id'], unique=False)
        batch_op.create_index('ix_resource_bookings_resource_time', ['resource_id', 'starts_at', 'ends_at'], unique=False)

    op.create_table('resource_calendar_exceptions',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('resource_id', sa.Uuid(), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('name', sa.String(length=160), nullable=True),
    sa.Column('starts_at', crm_core.db.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('ends_at', crm_core.db.types.UtcDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("kind IN ('time_off', 'working')", name=op.f('ck_resource_calendar_exceptions_kind')),
    sa.CheckConstraint('starts_at < ends_at', name=op.f('ck_resource_calendar_exceptions_range')),
    sa.ForeignKeyConstraint(['resource_id'], ['resources.id'], name=op.f('fk_resource_calendar_exceptions_resource_id_resources'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_resource_calendar_exceptions'))
    )
    with op.batch_alter_table('resource_calendar_exceptions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_resource_calendar_exceptions_resource_id'), ['resource_id'], unique=False)

    op.create_table('resource_work_hours',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('resource_id', sa.Uuid(), nullable=False),
    sa.Column('weekday', sa.SmallInteger(), nullable=False),
    sa.Column('start_minute', sa.SmallInteger(), nullable=False),
    sa.Column('end_minute', sa.SmallInteger(), nullable=False),
    sa.CheckConstraint('start_minute >= 0 AND start_minute < end_minute AND end_minute <= 1440', name=op.f('ck_resource_work_hours_interval')),
    sa.CheckConstraint('weekday BETWEEN 0 AND 6', name=op.f('ck_resource_work_hours_weekday')),
    sa.ForeignKeyConstraint(['resource_id'], ['resources.id'], name=op.f('fk_resource_work_hours_resource_id_resources'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_resource_work_hours'))
    )
    with op.batch_alter_table('resource_work_hours', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_resource_work_hours_resource_id'), ['resource_id'], unique=False)

    with op.batch_alter_table('business_calendars', schema=None) as batch_op:
        batch_op.add_column(sa.Column('is_business_closures', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
        batch_op.create_check_constraint(op.f('ck_business_calendars_closures_kind'),
                                         "NOT is_business_closures OR kind = 'holiday_schedule'")
        batch_op.create_index('ux_business_calendars_business_closures', ['is_business_closures'], unique=True, postgresql_where=sa.text('is_business_closures'), sqlite_where=sa.text('is_business_closures'))

    with op.batch_alter_table('resources', schema=None) as batch_op:
        batch_op.add_column(sa.Column('calendar_id', sa.Uuid(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_resources_calendar_id_calendars'), 'calendars', ['calendar_id'], ['id'], ondelete='SET NULL')

    with op.batch_alter_table('service_activities', schema=None) as batch_op:
        batch_op.add_column(sa.Column('service_id', sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column('site_id', sa.Uuid(), nullable=True))
        batch_op.create_index(batch_op.f('ix_service_activities_service_id'), ['service_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_service_activities_site_id_sites'), 'sites', ['site_id'], ['id'])
        batch_op.create_foreign_key(batch_op.f('fk_service_activities_service_id_services'), 'services', ['service_id'], ['id'])



def downgrade() -> None:
    with op.batch_alter_table('service_activities', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_service_activities_service_id_services'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_service_activities_site_id_sites'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_service_activities_service_id'))
        batch_op.drop_column('site_id')
        batch_op.drop_column('service_id')

    with op.batch_alter_table('resources', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_resources_calendar_id_calendars'), type_='foreignkey')
        batch_op.drop_column('calendar_id')

    with op.batch_alter_table('business_calendars', schema=None) as batch_op:
        batch_op.drop_index('ux_business_calendars_business_closures', postgresql_where=sa.text('is_business_closures'), sqlite_where=sa.text('is_business_closures'))
        batch_op.drop_constraint(op.f('ck_business_calendars_closures_kind'), type_='check')
        batch_op.drop_column('is_business_closures')

    with op.batch_alter_table('resource_work_hours', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_resource_work_hours_resource_id'))

    op.drop_table('resource_work_hours')
    with op.batch_alter_table('resource_calendar_exceptions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_resource_calendar_exceptions_resource_id'))

    op.drop_table('resource_calendar_exceptions')
    with op.batch_alter_table('resource_bookings', schema=None) as batch_op:
        batch_op.drop_index('ix_resource_bookings_resource_time')
        batch_op.drop_index(batch_op.f('ix_resource_bookings_activity_id'))

    op.drop_table('resource_bookings')
