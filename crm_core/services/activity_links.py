"""What happens to activities when the record they concern is deleted, as in Dynamics: activities regarding
it go with it (the parental cascade), and parties that named it stay, flagged deleted, as the mail's history."""

import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from crm_core.models import Activity, ActivityParty


def on_record_deleted(session: Session, entity: str, record_id: uuid.UUID) -> None:
    """Runs inside the delete's transaction, through the ORM so that the audit records each change."""
    regarding = select(Activity).where(Activity.regarding_type == entity, Activity.regarding_id == record_id)
    for activity in session.scalars(regarding):
        session.delete(activity)
    parties = select(ActivityParty).where(ActivityParty.party_type == entity, ActivityParty.party_id == record_id)
    for party in session.scalars(parties):
        party.is_party_deleted = True
