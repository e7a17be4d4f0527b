"""service levels follow-ups

Revision ID: e1a5c0de0001
Revises: d4bf9fc04050
Create Date: 2026-11-24 01:40:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'e1a5c0de0001'
down_revision: str | None = 'd4bf9fc04050'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
