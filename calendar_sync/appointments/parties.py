"""An event's organizer and attendees as activity parties, and back.

Addresses resolve as the organisation sees them (the sync acts for the system, like mail tracking): with
mailbridge's lookup, one query per kind of record for all of an item's addresses, and its "best" rule: the
first kind with a match decides, one record of that kind resolves the address, several leave it bare.

An attendee's answer (PARTSTAT) and name (CN) have no column: they stay in the appointment's ical_source,
whose ATTENDEE lines the writer keeps for the addresses that are still attendees."""

import uuid
from collections.abc import Iterable, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from calendar_sync.appointments.events import ORGANIZER, read_people
from calendar_sync.items import CalendarItem
from crm_core.entities import entity
from crm_core.errors import ValidationFailed
from crm_core.models import ActivityParty
from crm_core.services.activity_parties import PartyKey
from mailbridge.tracking.parties import MAX_ADDRESS, lookup

Records = dict[str, list[tuple[str, uuid.UUID]]]


def resolve(session: Session, addresses: Iterable[str]) -> Records:
    """address -> the records it belongs to, in mailbridge's order of kinds (contact, lead, account, user,
    queue)."""
    return lookup(session, {a for a in addresses if a and len(a) <= MAX_ADDRESS})


def item_addresses(item: CalendarItem) -> set[str]:
    """The organizer and attendees of every event of the item."""
    addresses: set[str] = set()
    for event in item.events:
        organizer, attendees = read_people(event)
        addresses |= {a for _, a in attendees} | ({organizer} if organizer else set())
    return addresses


def best(records: Sequence[tuple[str, uuid.UUID]]) -> tuple[str, uuid.UUID] | None:
    if not records:
        return None
    first_kind = records[0][0]
    of_kind = [r for r in records if r[0] == first_kind]
    return of_kind[0] if len(of_kind) == 1 else None


def party_keys(organizer: str | None, attendees: Iterable[tuple[int, str]], found: Records) -> list[PartyKey]:
    """The parties of one event: the organizer (7), then its attendees (5 required, 6 optional). The organizer
    is not repeated as an attendee of the same role."""
    people = ([(ORGANIZER, organizer)] if organizer else []) + sorted(attendees)
    keys: list[PartyKey] = []
    for participation, address in people:
        if len(address) > MAX_ADDRESS:
            continue
        record = best(found.get(address, []))
        key = PartyKey(participation, record[0] if record else None, record[1] if record else None, address)
        if key not in keys:
            keys.append(key)
    return keys


def addresses_of(session: Session, parties: Iterable[ActivityParty]) -> dict[uuid.UUID, str]:
    """party id -> the address it goes to: the one it was met with, else its record's first email address
    (a party the CRM added by record). Parties with neither are left out."""
    out: dict[uuid.UUID, str] = {}
    wanted: dict[str, dict[uuid.UUID, uuid.UUID]] = {}  # kind -> record id -> party id
    for party in parties:
        if party.address_used:
            out[party.id] = party.address_used.lower()
        elif party.party_type and party.party_id:
            wanted.setdefault(party.party_type, {})[party.party_id] = party.id
    for kind, records in wanted.items():
        try:
            spec = entity(kind)
        except ValidationFailed:  # not an entity we know: nothing to send to
            continue
        columns = [getattr(spec.model, c) for c in spec.email_columns]
        if not columns:  # a record without addresses (equipment)
            continue
        for row in session.execute(select(spec.model.id, *columns).where(spec.model.id.in_(list(records)))):
            address = next((v for v in row[1:] if v), None)
            if address:
                out[records[row[0]]] = address.lower()
    return out


def people_of(session: Session, parties: Sequence[ActivityParty]) -> tuple[str | None, frozenset[tuple[int, str]]]:
    """(organizer address, {(participation, address)} of the attendees) of an activity's parties."""
    addresses = addresses_of(session, parties)
    organizer = None
    attendees: set[tuple[int, str]] = set()
    for party in parties:
        address = addresses.get(party.id)
        if address is None:
            continue
        if party.participation == ORGANIZER:
            organizer = organizer or address
        elif party.participation in (5, 6):
            attendees.add((party.participation, address))
    return organizer, frozenset(attendees)
