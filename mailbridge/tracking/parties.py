"""Step: the parties of a mail (From as sender, To, Cc, Bcc) resolved by address to contacts, leads,
accounts, users and queues, as the organisation sees them (the sync reads everything, like Dynamics'
server-side synchronisation). One query per kind of record for the whole mail.

"best" (the default): an address resolves to the first kind with a match, in the order contact, lead,
account, user, queue; one record of that kind resolves it, several (two contacts sharing an address) leave it
a bare address and put the records among the candidates for review. "all": every matching record is a party."""

import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from crm_core.activity_catalogue import PARTY_ROLES
from crm_core.entities import entity
from crm_core.services.activity_parties import PartyKey
from mailbridge.message import Address, NormalisedMessage
from mailbridge.tracking.context import MailboxContext
from mailbridge.tracking.options import PartyMatching

if TYPE_CHECKING:  # the lookups prefetch what this step asks, so they import it
    from mailbridge.tracking.lookups import BatchLookups

RESOLVED_KINDS = ("contact", "lead", "account", "user", "queue")
CUSTOMER_KINDS = frozenset({"contact", "lead", "account"})  # what "known records" means for the filter
MAX_ADDRESS = 320


@dataclass(frozen=True)
class ResolvedParties:
    keys: tuple[PartyKey, ...]
    # address -> the records it could be, when "best" could not choose
    ambiguous: dict[str, tuple[tuple[str, uuid.UUID], ...]]
    known_records: bool  # a contact, lead or account among the parties other than the mailbox itself
    unknown_sender: Address | None  # the sender, when it matched nothing and is not the mailbox


def roles_of(message: NormalisedMessage) -> list[tuple[int, Address]]:
    """(participation mask, address) of each party, one sender, duplicates within a role dropped."""
    out: list[tuple[int, Address]] = []
    sender = message.from_address
    if sender is not None:
        out.append((PARTY_ROLES["sender"], sender))
    for role, addresses in (("to", message.to), ("cc", message.cc), ("bcc", message.bcc)):
        out.extend((PARTY_ROLES[role], a) for a in addresses)
    seen: set[tuple[int, str]] = set()
    unique = []
    for mask, address in out:
        if (mask, address.address) not in seen and len(address.address) <= MAX_ADDRESS:
            seen.add((mask, address.address))
            unique.append((mask, address))
    return unique


def lookup(session: Session, addresses: set[str]) -> dict[str, list[tuple[str, uuid.UUID]]]:
    """address -> [(kind, id)] in RESOLVED_KINDS order, every record whose email columns hold it."""
    found: dict[str, list[tuple[str, uuid.UUID]]] = {}
    if not addresses:
        return found
    wanted = sorted(addresses)
    for kind in RESOLVED_KINDS:
        spec = entity(kind)
        columns: list[Any] = [getattr(spec.model, c) for c in spec.email_columns]
        rows = session.execute(select(spec.model.id, *columns).where(or_(*(c.in_(wanted) for c in columns))))
        for row in rows:
            for value in set(row[1:]):
                if value in addresses:
                    found.setdefault(value, []).append((kind, row[0]))
    return found


def resolve_parties(session: Session, message: NormalisedMessage, ctx: MailboxContext,
                    matching: PartyMatching, lookups: "BatchLookups | None" = None) -> ResolvedParties:
    roles = roles_of(message)
    addresses = {a.address for _, a in roles}
    if lookups is not None and lookups.knows_addresses(addresses):
        matches = {a: lookups.addresses[a] for a in addresses if a in lookups.addresses}
    else:
        matches = lookup(session, addresses)
    keys: list[PartyKey] = []
    ambiguous: dict[str, tuple[tuple[str, uuid.UUID], ...]] = {}
    known = False
    for mask, address in roles:
        records = matches.get(address.address, [])
        external = address.address not in ctx.own_addresses
        known = known or (external and any(kind in CUSTOMER_KINDS for kind, _ in records))
        if matching == "best" and records:
            first_kind = records[0][0]
            records = [r for r in records if r[0] == first_kind]
            if len(records) > 1:
                ambiguous[address.address] = tuple(records)
                records = []
        if not records:
            keys.append(PartyKey(mask, None, None, address.address))
        keys.extend(PartyKey(mask, kind, record_id, address.address) for kind, record_id in records)
    sender = message.from_address
    unknown_sender = None
    if sender is not None and sender.address not in ctx.own_addresses and sender.address not in matches \
            and len(sender.address) <= MAX_ADDRESS:
        unknown_sender = sender
    return ResolvedParties(tuple(dict.fromkeys(keys)), ambiguous, known, unknown_sender)
