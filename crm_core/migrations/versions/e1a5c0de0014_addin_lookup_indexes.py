"""The Outlook add-in's lookups: indexes on lower(column) for the record picker's prefix searches
(addin_manifest/search.py: `lower(name) LIKE 'abc%'`), with text_pattern_ops on PostgreSQL so that a prefix LIKE
can use them whatever the collation (crm_core.db.base.prefix_index). The context call's lookups (email columns,
activity parties, regarding, customers, Message-ID) had their indexes already.

Revision ID: e1a5c0de0014
Revises: e1a5c0de0013
Create Date: 2026-11-24 16:30:42.056773
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'e1a5c0de0014'
down_revision: str | None = 'e1a5c0de0013'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PREFIX_INDEXES = (
    ('accounts', 'name'), ('accounts', 'email_address1'),
    ('contacts', 'full_name'), ('contacts', 'email_address1'),
    ('leads', 'full_name'), ('leads', 'subject'), ('leads', 'email_address1'),
    ('opportunities', 'name'),
    ('cases', 'title'), ('cases', 'case_number'),
)


def upgrade() -> None:
    for table, column in PREFIX_INDEXES:
        label = f'lower_{column}'
        op.create_index(f'ix_{table}_{label}', table, [sa.literal_column(f'lower({column})').label(label)],
                        unique=False, postgresql_ops={label: 'text_pattern_ops'})


def downgrade() -> None:
    for table, column in reversed(PREFIX_INDEXES):
        op.drop_index(f'ix_{table}_lower_{column}', table_name=table)
