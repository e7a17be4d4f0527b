"""What an activity shows besides its columns: the name of its type, and the names of its regarding
record, its parties and its owner, looked up in one query per entity and only where the caller may
read the record (an unreadable record shows its id, never its name)."""

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from crm_core.activity_catalogue import BUILTIN
from crm_core.entities import entity
from crm_core.errors import CrmError
from crm_core.models import Activity, ActivityType
from crm_core.security import access
from crm_core.security.principal import Principal
from crm_core.security.privileges import Privilege

Ref = tuple[str, uuid.UUID]


@dataclass(frozen=True)
class Display:
    type_name: str
    names: dict[Ref, str] = field(default_factory=dict)

    def name(self, entity_name: str | None, record_id: uuid.UUID | None) -> str | None:
        if entity_name is None or record_id is None:
            return None
        return self.names.get((entity_name, record_id))


def record_names(session: Session, principal: Principal, refs: Iterable[Ref]) -> dict[Ref, str]:
    by_entity: dict[str, set[uuid.UUID]] = {}
    for name, record_id in refs:
        by_entity.setdefault(name, set()).add(record_id)
    out: dict[Ref, str] = {}
    for name, ids in by_entity.items():
        try:
            spec = entity(name)
            readable = access.scope(principal, spec, Privilege.READ)
        except CrmError:  # an entity no longer registered, or one the caller has no read privilege on
            continue
        column = getattr(spec.model, spec.display_column)
        for record_id, value in session.execute(
            select(spec.model.id, column).where(spec.model.id.in_(list(ids)), readable)
        ):
            out[(name, record_id)] = str(value)
    return out


def describe(session: Session, principal: Principal, activities: Sequence[Activity]) -> None:
    """Attaches a Display to each activity (as `activity.display`) for the API to render."""
    refs: set[Ref] = set()
    for a in activities:
        if a.regarding_type and a.regarding_id:
            refs.add((a.regarding_type, a.regarding_id))
        refs.update((p.party_type, p.party_id) for p in a.parties if p.party_type and p.party_id)
        refs.add((a.owner_type, a.owner_id))
    names = record_names(session, principal, refs)
    type_names = {code: kind.display_name for code, kind in BUILTIN.items()}
    custom = {a.activity_type for a in activities} - set(type_names)
    if custom:
        rows = session.execute(
            select(ActivityType.code, ActivityType.display_name).where(ActivityType.code.in_(custom)))
        type_names.update({code: name for code, name in rows})
    for a in activities:
        a.display = Display(type_names.get(a.activity_type, a.activity_type), names)  # type: ignore[attr-defined]
