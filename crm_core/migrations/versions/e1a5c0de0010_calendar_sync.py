"""calendar sync: calendars, sync status, conflicts, quarantine, appointment iCalendar fields

Revision ID: e1a5c0de0010
Revises: e1a5c0de0009
Create Date: 2026-11-24 10:25:28.236916
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

import crm_core.db.types

revision: str = 'e1a5c0de0010'
down_revision: str | None = 'e1a5c0de0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('calendars',
    sa.Column('name', sa.String(length=160), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('url', sa.String(length=1000), nullable=True),
    sa.Column('username', sa.String(length=320), nullable=True),
    sa.Column('password_secret', sa.Text(), nullable=True),
    sa.Column('mailbox_id', sa.Uuid(), nullable=True),
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('business_unit_id', sa.Uuid(), nullable=False),
    sa.Column('conflict_policy', sa.String(length=12), nullable=False),
    sa.Column('incoming_filter', sa.String(length=16), nullable=False),
    sa.Column('track_category', sa.String(length=255), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('resolved_url', sa.String(length=1000), nullable=True),
    sa.Column('sync_cursor', sa.Text(), nullable=True),
    sa.Column('last_synced_on', crm_core.db.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('last_error_reason', sa.String(length=32), nullable=True),
    sa.Column('last_error_message', sa.Text(), nullable=True),
    sa.Column('retry_after', crm_core.db.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_on', crm_core.db.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('modified_on', crm_core.db.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('created_by_id', sa.Uuid(), nullable=True),
    sa.Column('modified_by_id', sa.Uuid(), nullable=True),
    sa.CheckConstraint("(kind IN ('ews', 'graph')) = (mailbox_id IS NOT NULL)", name=op.f('ck_calendars_calendar_mailbox')),
    sa.CheckConstraint("conflict_policy IN ('crm_wins', 'server_wins', 'newest_wins')", name=op.f('ck_calendars_calendar_conflict_policy')),
    sa.CheckConstraint("incoming_filter IN ('tracked', 'known_attendees')", name=op.f('ck_calendars_calendar_incoming_filter')),
    sa.CheckConstraint("kind IN ('caldav', 'ews', 'graph', 'ics')", name=op.f('ck_calendars_calendar_kind')),
    sa.CheckConstraint("kind IN ('ews', 'graph') OR url IS NOT NULL", name=op.f('ck_calendars_calendar_url')),
    sa.ForeignKeyConstraint(['business_unit_id'], ['business_units.id'], name=op.f('fk_calendars_business_unit_id_business_units')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_calendars_created_by_id_users'), ondelete='SET NULL', use_alter=True),
    sa.ForeignKeyConstraint(['mailbox_id'], ['mailboxes.id'], name=op.f('fk_calendars_mailbox_id_mailboxes'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['modified_by_id'], ['users.id'], name=op.f('fk_calendars_modified_by_id_users'), ondelete='SET NULL', use_alter=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_calendars_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_calendars')),
    sa.UniqueConstraint('name', name=op.f('uq_calendars_name'))
    )
    with op.batch_alter_table('calendars', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_calendars_business_unit_id'), ['business_unit_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_calendars_created_on'), ['created_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_calendars_mailbox_id'), ['mailbox_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_calendars_user_id'), ['user_id'], unique=False)

    op.create_table('calendar_conflicts',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('calendar_id', sa.Uuid(), nullable=False),
    sa.Column('uid', sa.String(length=1000), nullable=False),
    sa.Column('activity_id', sa.Uuid(), nullable=True),
    sa.Column('policy', sa.String(length=12), nullable=False),
    sa.Column('winner', sa.String(length=6), nullable=False),
    sa.Column('crm_version', sa.Text(), nullable=True),
    sa.Column('server_version', sa.Text(), nullable=True),
    sa.Column('detected_on', crm_core.db.types.UtcDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("winner IN ('crm', 'server')", name=op.f('ck_calendar_conflicts_calendar_conflict_winner')),
    sa.ForeignKeyConstraint(['activity_id'], ['activities.id'], name=op.f('fk_calendar_conflicts_activity_id_activities'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['calendar_id'], ['calendars.id'], name=op.f('fk_calendar_conflicts_calendar_id_calendars'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_calendar_conflicts'))
    )
    with op.batch_alter_table('calendar_conflicts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_calendar_conflicts_calendar_id'), ['calendar_id'], unique=False)

    op.create_table('calendar_quarantine',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('calendar_id', sa.Uuid(), nullable=True),
    sa.Column('source', sa.String(length=2000), nullable=False),
    sa.Column('etag', sa.String(length=500), nullable=True),
    sa.Column('raw', sa.LargeBinary(), nullable=False),
    sa.Column('reason', sa.String(length=32), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('quarantined_on', crm_core.db.types.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['calendar_id'], ['calendars.id'], name=op.f('fk_calendar_quarantine_calendar_id_calendars'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_calendar_quarantine'))
    )
    with op.batch_alter_table('calendar_quarantine', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_calendar_quarantine_calendar_id'), ['calendar_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_calendar_quarantine_reason'), ['reason'], unique=False)

    op.create_table('calendar_sync_items',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('calendar_id', sa.Uuid(), nullable=False),
    sa.Column('uid', sa.String(length=1000), nullable=False),
    sa.Column('activity_id', sa.Uuid(), nullable=True),
    sa.Column('crm_etag', sa.String(length=200), nullable=True),
    sa.Column('crm_hash', sa.String(length=64), nullable=True),
    sa.Column('remote_href', sa.String(length=2000), nullable=True),
    sa.Column('remote_etag', sa.String(length=500), nullable=True),
    sa.Column('remote_hash', sa.String(length=64), nullable=True),
    sa.Column('ignored', sa.Boolean(), nullable=False),
    sa.Column('synced_on', crm_core.db.types.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['activity_id'], ['activities.id'], name=op.f('fk_calendar_sync_items_activity_id_activities'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['calendar_id'], ['calendars.id'], name=op.f('fk_calendar_sync_items_calendar_id_calendars'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_calendar_sync_items')),
    sa.UniqueConstraint('calendar_id', 'uid', name='uq_calendar_sync_items_uid')
    )
    with op.batch_alter_table('calendar_sync_items', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_calendar_sync_items_activity_id'), ['activity_id'], unique=False)
        batch_op.create_index('ix_calendar_sync_items_href', ['calendar_id', 'remote_href'], unique=False)

    with op.batch_alter_table('appointments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('recurrence_id', crm_core.db.types.UtcDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('time_zone', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('is_floating', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('ical_sequence', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('ical_dtstamp', crm_core.db.types.UtcDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('ical_source', sa.Text(), nullable=True))

    with op.batch_alter_table('recurring_appointments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('rdates', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=False,
                                      server_default='[]'))
        batch_op.add_column(sa.Column('exdates', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=False,
                                      server_default='[]'))
        batch_op.add_column(sa.Column('is_floating', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('ical_sequence', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('ical_dtstamp', crm_core.db.types.UtcDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('ical_source', sa.Text(), nullable=True))

    if op.get_bind().dialect.name != 'sqlite':  # the cycle-closing keys create_table leaves out there
        op.create_foreign_key('fk_calendars_created_by_id_users', 'calendars', 'users', ['created_by_id'], ['id'], ondelete='SET NULL')
        op.create_foreign_key('fk_calendars_modified_by_id_users', 'calendars', 'users', ['modified_by_id'], ['id'], ondelete='SET NULL')


def downgrade() -> None:
    with op.batch_alter_table('recurring_appointments', schema=None) as batch_op:
        batch_op.drop_column('ical_source')
        batch_op.drop_column('ical_dtstamp')
        batch_op.drop_column('ical_sequence')
        batch_op.drop_column('is_floating')
        batch_op.drop_column('exdates')
        batch_op.drop_column('rdates')

    with op.batch_alter_table('appointments', schema=None) as batch_op:
        batch_op.drop_column('ical_source')
        batch_op.drop_column('ical_dtstamp')
        batch_op.drop_column('ical_sequence')
        batch_op.drop_column('is_floating')
        batch_op.drop_column('time_zone')
        batch_op.drop_column('recurrence_id')

    with op.batch_alter_table('calendar_sync_items', schema=None) as batch_op:
        batch_op.drop_index('ix_calendar_sync_items_href')
        batch_op.drop_index(batch_op.f('ix_calendar_sync_items_activity_id'))

    op.drop_table('calendar_sync_items')
    with op.batch_alter_table('calendar_quarantine', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_calendar_quarantine_reason'))
        batch_op.drop_index(batch_op.f('ix_calendar_quarantine_calendar_id'))

    op.drop_table('calendar_quarantine')
    with op.batch_alter_table('calendar_conflicts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_calendar_conflicts_calendar_id'))

    op.drop_table('calendar_conflicts')
    with op.batch_alter_table('calendars', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_calendars_user_id'))
        batch_op.drop_index(batch_op.f('ix_calendars_mailbox_id'))
        batch_op.drop_index(batch_op.f('ix_calendars_created_on'))
        batch_op.drop_index(batch_op.f('ix_calendars_business_unit_id'))

    op.drop_table('calendars')
