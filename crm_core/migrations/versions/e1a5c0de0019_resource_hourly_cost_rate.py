"""Analytics (issue 11): an hourly cost rate on resources, the cost of service in profitability per customer.

Revision ID: e1a5c0de0019
Revises: e1a5c0de0018
Create Date: 2026-11-24 19:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "e1a5c0de0019"
down_revision: str | None = "e1a5c0de0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("resources", schema=None) as batch_op:
        batch_op.add_column(sa.Column("hourly_cost_rate", sa.Numeric(precision=19, scale=4), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("resources", schema=None) as batch_op:
        batch_op.drop_column("hourly_cost_rate")
