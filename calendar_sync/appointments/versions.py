"""The CRM side's ETag of each appointment or series: a digest of everything its rendering depends on (the
record's and its exceptions' modified_on, and every party of them), computed for a whole listing in one
query instead of rendering each one.

Parties count on their own: a party row has no modified_on, and a changed attendee must be news to the sync.

The ids are read as the database holds them and spelled as `str(uuid.UUID)` spells them, without building a
UUID object per row: a listing of thousands of appointments reads tens of thousands of ids, and the digest
(which the sync status keeps) must not change its spelling."""

import hashlib
import uuid
from collections import defaultdict
from collections.abc import Sequence
from functools import cache
from typing import Any

from sqlalchemy import (
    CompoundSelect,
    Row,
    Select,
    String,
    bindparam,
    cast,
    literal_column,
    null,
    select,
    type_coerce,
    union_all,
)
from sqlalchemy.orm import Session

from crm_core.models import Activity, ActivityParty

# The activities table itself: selecting the mapped Activity's columns would join every subtype's table (the
# mapping loads activities polymorphically), which a version never needs.
ACTIVITIES = Activity.__table__.c


def versions(session: Session, ids: Select[Any]) -> dict[str, str]:
    """id (as str(uuid.UUID) spells it) -> ETag of each appointment or recurring appointment whose id `ids` (a
    SELECT of ids) yields. One statement: a UNION ALL of the records, their exceptions and the parties of both,
    each row tagged with what it is (kind, id, series or activity id, modified_on, then the party's columns)."""
    return _digests(session.execute(_statement(ids)).all())


def version_of(session: Session, record_id: uuid.UUID) -> str | None:
    """The ETag of one appointment or series (None: no such activity), by a statement built once: the sync asks
    for it before and after each write."""
    digests = _digests(session.execute(_one(), {"record_id": record_id}).all())
    return digests.get(str(record_id))


@cache
def _one() -> CompoundSelect:
    return _statement(select(ACTIVITIES.id).where(ACTIVITIES.id == bindparam("record_id")))


def _statement(ids: Select[Any]) -> CompoundSelect:
    a, p = ACTIVITIES, ActivityParty.__table__.c
    exceptions = select(a.id).where(a.series_id.in_(ids), a.instance_type_code == 3)
    # Typed, so that PostgreSQL can match the first branches' empty party columns with the parties' own.
    no_party = (
        cast(null(), p.participation.type),
        cast(null(), p.party_type.type),
        _raw(cast(null(), p.party_id.type)),
        cast(null(), p.address_used.type),
    )
    parties = select(
        literal_column("'p'"),
        _raw(p.id),
        _raw(p.activity_id),
        null(),
        p.participation,
        p.party_type,
        _raw(p.party_id),
        p.address_used,
    )
    return union_all(
        select(literal_column("'r'"), _raw(a.id), null(), a.modified_on, *no_party).where(a.id.in_(ids)),
        select(literal_column("'x'"), _raw(a.id), _raw(a.series_id), a.modified_on, *no_party).where(
            a.series_id.in_(ids), a.instance_type_code == 3
        ),
        # Two branches rather than one with an OR of two IN lists, which no index can serve.
        parties.where(p.activity_id.in_(ids)),
        parties.where(p.activity_id.in_(exceptions)),
    )


def _digests(rows: Sequence[Row[Any]]) -> dict[str, str]:
    parts: dict[str, list[str]] = defaultdict(list)
    series_of: dict[str, str] = {}
    for kind, record_id, series_id, modified_on, *_ in rows:
        if kind == "r":
            parts[spelled(record_id)].append(f"r{modified_on.isoformat()}")
        elif kind == "x":
            exception, series = spelled(record_id), spelled(series_id)
            series_of[exception] = series
            parts[series].append(f"x{exception}:{modified_on.isoformat()}")
    seen: set[str] = set()  # an exception `ids` names itself has its parties in both branches: once counts
    for kind, party_id, activity_id, _, participation, party_type, record_id, address in rows:
        if kind != "p":
            continue
        party = spelled(party_id)
        if party in seen:
            continue
        seen.add(party)
        activity = spelled(activity_id)
        record = spelled(record_id) if record_id is not None else None
        parts[series_of.get(activity, activity)].append(
            f"p{activity}:{party}:{participation}:{party_type}:{record}:{address}"
        )
    return {record_id: _digest(items) for record_id, items in parts.items() if any(i[0] == "r" for i in items)}


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
