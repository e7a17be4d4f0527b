"""Activity parties: who sent, received, attended or was served by an activity, each a record the caller
can read or a bare email address, with the role (Dynamics' participationtypemask) the activity's type takes."""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from crm_core.activity_catalogue import PARTY_ENTITIES, PARTY_ROLES, SINGLE_ROLES, ActivityKind
from crm_core.email_addresses import normalize
from crm_core.entities import entity
from crm_core.errors import Forbidden, ValidationFailed
from crm_core.models import Activity, ActivityParty
from crm_core.security import access
from crm_core.security.principal import Principal
from crm_core.security.privileges import Privilege


@dataclass(frozen=True)
class PartyKey:
    participation: int
    party_type: str | None
    party_id: uuid.UUID | None
    address: str | None


def resolve_address(session: Session, principal: Principal, address: str) -> tuple[str, uuid.UUID] | None:
    """The one record an (already normalised) address belongs to, or None to keep it a bare address.

    The rule: entities are tried in the order contact, lead, account, user, and only among records
    the caller can read (a party must never reveal a record he could not open). The first entity with
    any match decides: exactly one match resolves the address to that record; several matches (two
    contacts sharing an address) leave it unresolved rather than guess, as Dynamics does when its
    "multiple matches" setting is on. No match anywhere leaves the bare address."""
    for name in PARTY_ENTITIES:
        spec = entity(name)
        try:
            readable = access.scope(principal, spec, Privilege.READ)
        except Forbidden:
            continue  # no read privilege on this entity: nothing of it can be resolved to
        columns = [getattr(spec.model, c) for c in spec.email_columns]
        ids = list(session.scalars(
            select(spec.model.id).where(or_(*(c == address for c in columns)), readable).limit(2)
        ))
        if len(ids) == 1:
            return name, ids[0]
        if ids:
            return None
    return None


def parse_parties(session: Session, principal: Principal, kind: ActivityKind, type_label: str,
                  given: list[dict[str, Any]], current: Sequence[ActivityParty] = ()) -> list[PartyKey]:
    """Checks the parties given for an activity and resolves them; duplicates are dropped. A record that
    is a party already stays without a new check (a colleague may keep a party he cannot read)."""
    kept = {(p.participation, p.party_type, p.party_id) for p in current if p.party_id is not None}
    keys: list[PartyKey] = []
    singles: set[str] = set()
    for i, party in enumerate(given):
        role = party.get("role")
        if role not in PARTY_ROLES:
            raise ValidationFailed.field(f"parties[{i}].role", f"one of {', '.join(PARTY_ROLES)}")
        if role not in kind.roles:
            allowed = ", ".join(r for r in PARTY_ROLES if r in kind.roles) or "no parties"
            raise ValidationFailed.field(f"parties[{i}].role", f"a {type_label} takes {allowed}, not {role}")
        if role in SINGLE_ROLES:
            if role in singles:
                raise ValidationFailed.field(f"parties[{i}].role", f"a {type_label} has one {role}")
            singles.add(role)
        address = None
        if party.get("address") is not None:
            try:
                address = normalize(party["address"])
            except ValueError as exc:
                raise ValidationFailed.field(f"parties[{i}].address", f"not a valid email address: {exc}") from None
        party_type, party_id = party.get("party_type"), party.get("party_id")
        if party_id is not None and (PARTY_ROLES[role], party_type, party_id) in kept:
            pass
        elif party_id is not None:
            party_type = _check_record(session, principal, i, party_type, party_id)
        elif party_type is not None:
            raise ValidationFailed.field(f"parties[{i}].party_id", "party_type needs a party_id")
        elif address is None:
            raise ValidationFailed.field(f"parties[{i}]", "give a party_type and party_id, or an address")
        else:
            found = resolve_address(session, principal, address)
            if found:
                party_type, party_id = found
        key = PartyKey(PARTY_ROLES[role], party_type, party_id, address)
        if key not in keys:
            keys.append(key)
    return keys


def _check_record(session: Session, principal: Principal, i: int, party_type: str | None,
                  party_id: uuid.UUID) -> str:
    if party_type not in PARTY_ENTITIES:
        raise ValidationFailed.field(f"parties[{i}].party_type", f"one of {', '.join(PARTY_ENTITIES)}")
    spec = entity(party_type)
    record = session.get(spec.model, party_id)
    # A record the caller cannot read is reported exactly like a missing one.
    if record is None or not _readable(session, principal, spec, record):
        raise ValidationFailed.field(f"parties[{i}].party_id", f"no {party_type} with id {party_id}")
    return party_type


def _readable(session: Session, principal: Principal, spec: Any, record: Any) -> bool:
    try:
        return access.reaches(session, principal, spec, Privilege.READ, record)
    except Forbidden:
        return False


def replace_parties(session: Session, activity: Activity, keys: list[PartyKey]) -> None:
    """Makes the activity's parties exactly `keys`, keeping the rows that stay (so the audit shows only
    what was added and removed)."""
    existing = {_key(p): p for p in activity.parties}
    for key, party in existing.items():
        if key not in keys:
            activity.parties.remove(party)
            if party in session:  # deleted explicitly: orphans are found only after the audit hook ran
                session.delete(party)
    for key in keys:
        if key not in existing:
            activity.parties.append(ActivityParty(
                id=uuid.uuid4(), participation=key.participation, party_type=key.party_type,
                party_id=key.party_id, address_used=key.address,
            ))


def _key(party: ActivityParty) -> PartyKey:
    return PartyKey(party.participation, party.party_type, party.party_id, party.address_used)

