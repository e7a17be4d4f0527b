"""The CRM side's ETag of each appointment or series: a digest of everything its rendering depends on (the
record's and its exceptions' modified_on, and every party of them), computed for a whole listing in four
queries instead of rendering each one.

Parties count on their own: a party row has no modified_on, and a changed attendee must be news to the sync.

The ids are read as the database holds them and spelled as `str(uuid.UUID)` spells them, without building a
UUID object per row: a listing of thousands of appointments reads tens of thousands of ids, and the digest
(which the sync status keeps) must not change its spelling."""

import hashlib
import uuid
from collections import defaultdict
from typing import Any

from sqlalchemy import Select, String, select, type_coerce
from sqlalchemy.orm import Session

from crm_core.models import Activity, ActivityParty


def versions(session: Session, ids: Select[Any]) -> dict[uuid.UUID, str]:
    """id -> ETag of each appointment or recurring appointment whose id `ids` (a SELECT of ids) yields."""
    parts: dict[str, list[str]] = defaultdict(list)
    for record_id, modified_on in session.execute(
        select(_raw(Activity.id), Activity.modified_on).where(Activity.id.in_(ids))
    ):
        parts[spelled(record_id)].append(f"r{modified_on.isoformat()}")
    if not parts:
        return {}
    series_of: dict[str, str] = {}
    exceptions = select(Activity.id).where(Activity.series_id.in_(ids), Activity.instance_type_code == 3)
    for exception_id, series_id, modified_on in session.execute(
        select(_raw(Activity.id), _raw(Activity.series_id), Activity.modified_on).where(
            Activity.series_id.in_(ids), Activity.instance_type_code == 3
        )
    ):
        exception, series = spelled(exception_id), spelled(series_id)
        series_of[exception] = series
        parts[series].append(f"x{exception}:{modified_on.isoformat()}")
    parties = select(
        _raw(ActivityParty.activity_id),
        _raw(ActivityParty.id),
        ActivityParty.participation,
        ActivityParty.party_type,
        _raw(ActivityParty.party_id),
        ActivityParty.address_used,
    )
    # Two queries rather than one with an OR of two IN lists, which no index can serve.
    scopes = [ActivityParty.activity_id.in_(ids)] + ([ActivityParty.activity_id.in_(exceptions)] if series_of else [])
    seen: set[str] = set()  # an exception `ids` names itself has its parties read by both queries: once counts
    for scope in scopes:
        for activity_id, party_id, participation, party_type, record_id, address in session.execute(
            parties.where(scope)
        ):
            party = spelled(party_id)
            if party in seen:
                continue
            seen.add(party)
            activity = spelled(activity_id)
            record = spelled(record_id) if record_id is not None else None
            parts[series_of.get(activity, activity)].append(
                f"p{activity}:{party}:{participation}:{party_type}:{record}:{address}"
            )
    return {
        uuid.UUID(record_id): _digest(items)
        for record_id, items in parts.items()
        if any(p.startswith("r") for p in items)
    }


def _raw(column: Any) -> Any:
    """The column without the Uuid type's conversion: a string of 32 hex digits on SQLite, a UUID elsewhere."""
    return type_coerce(column, String)


def spelled(value: object) -> str:
    """An id as str(uuid.UUID) writes it (hyphenated, lower case), from either form _raw reads."""
    if isinstance(value, str):
        if len(value) == 32:
            return f"{value[:8]}-{value[8:12]}-{value[12:16]}-{value[16:20]}-{value[20:]}".lower()
        return str(uuid.UUID(value))
    return str(value)


def _digest(items: list[str]) -> str:
    return '"' + hashlib.sha256("\n".join(sorted(items)).encode()).hexdigest()[:32] + '"'
