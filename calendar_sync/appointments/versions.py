"""The CRM side's ETag of each appointment or series: a digest of everything its rendering depends on (the
record's and its exceptions' modified_on, and every party of them), computed for a whole listing in three
queries instead of rendering each one.

Parties count on their own: a party row has no modified_on, and a changed attendee must be news to the sync."""

import hashlib
import uuid
from collections import defaultdict
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from crm_core.models import Activity, ActivityParty


def versions(session: Session, ids: Select[Any]) -> dict[uuid.UUID, str]:
    """id -> ETag of each appointment or recurring appointment whose id `ids` (a SELECT of ids) yields."""
    scope = ids
    parts: dict[uuid.UUID, list[str]] = defaultdict(list)
    for record_id, modified_on in session.execute(
            select(Activity.id, Activity.modified_on).where(Activity.id.in_(scope))):
        parts[record_id].append(f"r{modified_on.isoformat()}")
    series_of: dict[uuid.UUID, uuid.UUID] = {}
    exceptions = select(Activity.id).where(Activity.series_id.in_(scope), Activity.instance_type_code == 3)
    for exception_id, series_id, modified_on in session.execute(
            select(Activity.id, Activity.series_id, Activity.modified_on).where(Activity.id.in_(exceptions))):
        series_of[exception_id] = series_id
        parts[series_id].append(f"x{exception_id}:{modified_on.isoformat()}")
    parties = select(ActivityParty.activity_id, ActivityParty.id, ActivityParty.participation,
                     ActivityParty.party_type, ActivityParty.party_id, ActivityParty.address_used)
    for activity_id, party_id, participation, party_type, record_id, address in session.execute(
            parties.where(ActivityParty.activity_id.in_(scope) | ActivityParty.activity_id.in_(exceptions))):
        owner = series_of.get(activity_id, activity_id)
        parts[owner].append(f"p{activity_id}:{party_id}:{participation}:{party_type}:{record_id}:{address}")
    return {record_id: _digest(items) for record_id, items in parts.items()
            if any(p.startswith("r") for p in items)}


def _digest(items: list[str]) -> str:
    return '"' + hashlib.sha256("\n".join(sorted(items)).encode()).hexdigest()[:32] + '"'
