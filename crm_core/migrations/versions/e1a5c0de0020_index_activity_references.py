"""Indexes on the columns that refer to an activity and had none: a series' exceptions (activities.series_id),
a tracked message's correlated email, a case rule's acknowledgement, a calendar conflict's appointment.

Deleting an activity has the database find the rows that refer to it (to cascade or set them to NULL): without
an index that is a scan of the whole table, for every activity deleted (a calendar pass deleting a series read
all the activities; deleting any email read every tracked message).

Revision ID: e1a5c0de0020
Revises: e1a5c0de0019
Create Date: 2026-11-24 10:30:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "e1a5c0de0020"
down_revision: str | None = "e1a5c0de0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES = (
    ("activities", "series_id"),
    ("tracked_messages", "correlated_email_id"),
    ("case_rule_decisions", "acknowledgement_id"),
    ("calendar_conflicts", "activity_id"),
)


def upgrade() -> None:
    for table, column in INDEXES:
        op.create_index(f"ix_{table}_{column}", table, [column])


def downgrade() -> None:
    for table, column in reversed(INDEXES):
        op.drop_index(f"ix_{table}_{column}", table_name=table)
