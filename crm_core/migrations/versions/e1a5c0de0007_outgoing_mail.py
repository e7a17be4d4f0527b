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
    pass


def downgrade() -> None:
    pass
