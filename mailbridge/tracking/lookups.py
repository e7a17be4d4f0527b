"""Batch lookups: what the steps would ask the database mail by mail, asked once for a whole batch.

Without them a batch of a hundred mails costs a dozen queries per mail (dedupe, token, headers, five kinds of
party, blobs, the sighting), and with autoflush each query first writes what the previous mail added, so the
inserts go one by one too. With them, the batch's identifiers are looked up in a few queries up front, and
what the batch itself writes is registered here as it is written, so a reply later in the same batch still
finds the mail it answers and a second copy is still a duplicate. The answers are the same as the queries'
(each method says which query it stands for); records the steps do not register (a contact made for an
unknown sender, by a person's rule) make the party answers fall back to the database. What the batch writes
may be ORM objects (mail by mail) or the plain records of rows written in bulk (persist.BatchRows): the
lookups read only the attributes the protocols below name.

Not thread-safe, and tied to one session and one batch: `open_lookups` removes its session hook on exit."""

import datetime as dt
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from crm_core.entities import entity
from crm_core.models import Email, MailBlob, TrackedMessage
from mailbridge.message import NormalisedMessage
from mailbridge.tracking.correlate_headers import MAX_REFERENCES
from mailbridge.tracking.parties import RESOLVED_KINDS, lookup

_CHUNK = 900  # identifiers per IN (...): well under SQLite's and PostgreSQL's parameter limits
T = TypeVar("T")


def _chunks(values: Iterable[T]) -> Iterator[list[T]]:
    ordered = sorted(set(values))  # type: ignore[type-var]
    for start in range(0, len(ordered), _CHUNK):
        yield ordered[start:start + _CHUNK]


class EmailLike(Protocol):
    """What the lookups and correlation read of an email (an Email, or one a batch wrote as rows)."""

    @property
    def id(self) -> uuid.UUID: ...
    @property
    def message_id(self) -> str | None: ...
    @property
    def tracking_token(self) -> str | None: ...
    @property
    def occurred_on(self) -> dt.datetime: ...
    @property
    def regarding_type(self) -> str | None: ...
    @property
    def regarding_id(self) -> uuid.UUID | None: ...


class TrackedLike(Protocol):
    """What the lookups, dedupe and the sighting read of a tracked message (a TrackedMessage, or a row)."""

    @property
    def id(self) -> uuid.UUID: ...
    @property
    def email_id(self) -> uuid.UUID | None: ...
    @property
    def message_id(self) -> str | None: ...
    @property
    def fingerprint(self) -> str: ...


@dataclass
class BatchLookups:
    tracked_by_message_id: dict[str, list[TrackedLike]] = field(default_factory=dict)
    tracked_by_fingerprint: dict[str, TrackedLike] = field(default_factory=dict)  # the earliest
    emails_by_message_id: dict[str, list[EmailLike]] = field(default_factory=dict)
    emails_by_token: dict[str, list[EmailLike]] = field(default_factory=dict)
    addresses: dict[str, list[tuple[str, uuid.UUID]]] = field(default_factory=dict)
    address_keys: frozenset[str] = frozenset()  # the addresses `addresses` answers for
    blobs: set[str] = field(default_factory=set)
    party_records_added: bool = False  # a contact, lead... was made during the batch: ask the database

    # --- the answers ----------------------------------------------------------------------------------------
    def tracked_with_message_id(self, message_id: str) -> list[TrackedLike]:
        """select(TrackedMessage).where(message_id == ...)"""
        return list(self.tracked_by_message_id.get(message_id, ()))

    def sent_without_tracking(self, message_id: str) -> uuid.UUID | None:
        """An email with this Message-ID that has no tracked row (one the CRM sent, not yet seen by a sync).
        A tracked row always carries its email's Message-ID, so the tracked rows of that id tell."""
        tracked = {t.email_id for t in self.tracked_by_message_id.get(message_id, ())}
        return next((e.id for e in self.emails_by_message_id.get(message_id, ()) if e.id not in tracked), None)

    def tracked_with_fingerprint(self, fingerprint: str) -> TrackedLike | None:
        return self.tracked_by_fingerprint.get(fingerprint)

    def latest_with_token(self, token: str) -> EmailLike | None:
        """ORDER BY occurred_on DESC, id: the newest email carrying the token."""
        emails = self.emails_by_token.get(token)
        if not emails:
            return None
        newest = max(e.occurred_on for e in emails)
        return min((e for e in emails if e.occurred_on == newest), key=lambda e: e.id.hex)

    def latest_with_message_ids(self, message_ids: Sequence[str]) -> dict[str, EmailLike]:
        """message id -> the latest email carrying it (a reused Message-ID: the newest wins)."""
        found: dict[str, EmailLike] = {}
        for message_id in message_ids:
            emails = self.emails_by_message_id.get(message_id)
            if emails:
                found[message_id] = max(emails, key=lambda e: e.occurred_on)
        return found

    def knows_addresses(self, addresses: Iterable[str]) -> bool:
        return not self.party_records_added and self.address_keys.issuperset(addresses)

    def has_blob(self, sha256: str) -> bool:
        return sha256 in self.blobs

    # --- what the batch writes ------------------------------------------------------------------------------
    def add_email(self, email: EmailLike) -> None:
        if email.message_id:
            self.emails_by_message_id.setdefault(email.message_id, []).append(email)
        if email.tracking_token:
            self.emails_by_token.setdefault(email.tracking_token, []).append(email)

    def add_tracked(self, tracked: TrackedLike) -> None:
        if tracked.message_id:
            self.tracked_by_message_id.setdefault(tracked.message_id, []).append(tracked)
        if tracked.fingerprint:
            self.tracked_by_fingerprint.setdefault(tracked.fingerprint, tracked)

    def add_blob(self, sha256: str) -> None:
        self.blobs.add(sha256)


def _references(message: NormalisedMessage) -> list[str]:
    return [*([message.in_reply_to] if message.in_reply_to else []), *message.references[-MAX_REFERENCES:]]


def prefetch(session: Session, messages: Sequence[NormalisedMessage], raw_hashes: Iterable[str]) -> BatchLookups:
    """The lookups of a batch's messages, in a few queries (the parties' by the party step's own query)."""
    found = BatchLookups()
    ids = {m.message_id for m in messages if m.message_id}
    fingerprints = {m.fingerprint for m in messages}
    for chunk in _chunks(ids):
        for tracked in session.scalars(select(TrackedMessage).where(TrackedMessage.message_id.in_(chunk))):
            found.tracked_by_message_id.setdefault(tracked.message_id or "", []).append(tracked)
    for chunk in _chunks(fingerprints):
        rows = session.scalars(select(TrackedMessage).where(TrackedMessage.fingerprint.in_(chunk))
                               .order_by(TrackedMessage.created_on))
        for tracked in rows:
            found.tracked_by_fingerprint.setdefault(tracked.fingerprint, tracked)
    wanted_emails = ids | {r for m in messages for r in _references(m)}
    for chunk in _chunks(wanted_emails):
        for email in session.scalars(select(Email).where(Email.message_id.in_(chunk))):
            found.emails_by_message_id.setdefault(email.message_id or "", []).append(email)
    for chunk in _chunks({m.tracking_token for m in messages if m.tracking_token}):
        for email in session.scalars(select(Email).where(Email.tracking_token.in_(chunk))):
            found.emails_by_token.setdefault(email.tracking_token or "", []).append(email)
    addresses = {a.address for m in messages for a in m.participants()}
    found.addresses = lookup(session, addresses)
    found.address_keys = frozenset(addresses)
    hashes = {*raw_hashes, *(a.sha256 for m in messages for a in m.attachments if a.sha256)}
    for chunk in _chunks(hashes):
        found.blobs.update(session.scalars(select(MailBlob.sha256).where(MailBlob.sha256.in_(chunk))))
    return found


@contextmanager
def watching_party_records(session: Session, lookups: BatchLookups) -> Iterator[BatchLookups]:
    """While the batch runs, a new contact, lead, account, user or queue in the session (an unknown sender
    made a contact, a rule made one) sends the party answers back to the database, which then sees it."""
    models = tuple(entity(kind).model for kind in RESOLVED_KINDS)

    def attached(_session: Session, instance: object) -> None:
        if isinstance(instance, models):
            lookups.party_records_added = True

    event.listen(session, "after_attach", attached)
    try:
        yield lookups
    finally:
        event.remove(session, "after_attach", attached)
