"""Step: write a new tracked mail: the email activity (direction, subject and bodies as the mailbox's keep
option allows, dates, identifiers, token, owner, regarding), its parties, its attachments and raw bytes (in
the blob store), and its tracked-message row. The caller adds the sighting and commits with the checkpoint.

Written as the organisation (no acting user). Mail by mail (`persist`) as ORM objects, audited by the
session's hook like any other write. A batch (`persist_rows`) as plain rows gathered in `BatchRows` and
inserted table by table in a few statements: building and flushing a dozen ORM objects per mail cost more
than parsing it. The batch writes the audit entry the hook would have written (crm_core.audit.created_changes:
one per email, its parties, attachments, tracked row and sighting folded in), so the trail is the same.

Keep: "metadata" stores who, when and the identifiers (no subject, no body, no attachment, no raw bytes);
"subject" adds the subject; "everything" adds the bodies (sanitised HTML), attachments and the raw bytes."""

import datetime as dt
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from typing import Any

from sqlalchemy import Table, insert, inspect
from sqlalchemy.orm import Session

from crm_core.activity_catalogue import BUILTIN, COMPLETED
from crm_core.audit import created_changes, entry_row
from crm_core.db.bulk_insert import insert_rows
from crm_core.db.row_ids import new_id
from crm_core.db.types import utcnow
from crm_core.entities import entity_of
from crm_core.models import ActivityParty, AuditEntry, Email, EmailAttachment, MailBlob, MailSighting, TrackedMessage
from crm_core.services.activity_parties import PartyKey
from mailbridge.message import NormalisedMessage
from mailbridge.tracking.blobs import store_blob
from mailbridge.tracking.context import MailboxContext
from mailbridge.tracking.correlate_subject import thread_key
from mailbridge.tracking.explanation import Explanation
from mailbridge.tracking.lookups import BatchLookups
from mailbridge.tracking.results import SourceItem
from mailbridge.tracking.threads import ThreadLink

SENT, RECEIVED = 3, 4  # the email's Completed status reasons


def clean(text: str | None, limit: int | None = None) -> str | None:
    """Text PostgreSQL accepts (no NUL), cut to the column's length."""
    if text is None:
        return None
    text = text.replace("\x00", "")
    return text[:limit] if limit is not None else text


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    if value is None:
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


def is_outgoing(message: NormalisedMessage, ctx: MailboxContext) -> bool:
    sender = message.from_address
    return sender is not None and sender.address in ctx.own_addresses


def email_values(ctx: MailboxContext, item: SourceItem, message: NormalisedMessage,
                 link: ThreadLink | None) -> dict[str, Any]:
    """The new email activity's attributes (the same keys for every mail, as a bulk insert wants)."""
    outgoing = is_outgoing(message, ctx)
    statecode, statuscode = BUILTIN["email"].states.resolve(COMPLETED, SENT if outgoing else RECEIVED)
    sent_on = _aware(message.sent_at) or _aware(item.internal_date) or utcnow()
    keep = ctx.keep_content
    linked = link is not None and not link.needs_review
    regarding = link.regarding if linked and link is not None else None
    return dict(
        id=new_id(), activity_type="email", custom_fields={}, created_on=utcnow(),
        subject=clean(message.subject, 400) if keep != "metadata" else "",
        body_text=clean(message.text_body) if keep == "everything" else None,
        body_html=clean(message.html_body) if keep == "everything" else None,
        direction_outgoing=outgoing, sent_on=sent_on, occurred_on=sent_on, actual_end=sent_on,
        message_id=clean(message.message_id, 998), in_reply_to=clean(message.in_reply_to, 998),
        tracking_token=message.tracking_token or (link.token if linked and link else None),
        statecode=statecode, statuscode=statuscode, priority_code=1, instance_type_code=0,
        owning_user_id=ctx.owner_user_id, owning_team_id=ctx.owner_team_id,
        owning_business_unit_id=ctx.business_unit_id,
        regarding_type=regarding[0] if regarding else None, regarding_id=regarding[1] if regarding else None,
    )


def new_email(ctx: MailboxContext, item: SourceItem, message: NormalisedMessage, link: ThreadLink | None,
              explanation: Explanation) -> Email:
    return Email(**email_values(ctx, item, message, link))


def missing_parties(had: Iterable[tuple[int, str | None, uuid.UUID | None, str | None]],
                    keys: Iterable[PartyKey]) -> list[PartyKey]:
    """The keys among `keys` that the parties `had` (participation, type, id, address) lack, each once. A party
    is had when the same role names the same record, or the same bare address."""
    records, bare = set(), set()
    for participation, party_type, party_id, address in had:
        if party_id is not None:
            records.add((participation, party_type, party_id))
        else:
            bare.add((participation, address))
    out = []
    for key in keys:
        if key.party_id is not None:
            if (key.participation, key.party_type, key.party_id) in records:
                continue
            records.add((key.participation, key.party_type, key.party_id))
        else:
            if (key.participation, key.address) in bare:
                continue
            bare.add((key.participation, key.address))
        out.append(key)
    return out


def _party_values(key: PartyKey) -> dict[str, Any]:
    return dict(id=new_id(), participation=key.participation, party_type=key.party_type, party_id=key.party_id,
                address_used=key.address)


def add_parties(email: Email, keys: tuple[PartyKey, ...] | list[PartyKey]) -> int:
    """Adds the parties `email` lacks (a second mailbox's view merges into the first's); how many were new."""
    had = [(p.participation, p.party_type, p.party_id, p.address_used) for p in email.parties]
    new = missing_parties(had, keys)
    email.parties.extend(ActivityParty(**_party_values(key)) for key in new)
    return len(new)


def _attachment_values(email_id: uuid.UUID, a: Any) -> dict[str, Any]:
    return dict(
        id=new_id(), email_id=email_id, filename=clean(a.filename, 400),
        content_type=clean(a.content_type, 200) or "application/octet-stream", size=a.size,
        content_id=clean(a.content_id, 400), sha256=a.sha256, too_large=a.too_large, inline=a.inline,
        is_tnef=a.is_tnef)


def attachments(session: Any, email: Email, message: NormalisedMessage, lookups: BatchLookups | None = None) -> None:
    for a in message.attachments:
        if a.content is not None and not a.too_large:
            store_blob(session, a.content, a.sha256, lookups)
        session.add(EmailAttachment(**_attachment_values(email.id, a)))


def _tracked_values(email_id: uuid.UUID, message: NormalisedMessage, link: ThreadLink | None,
                    explanation: Explanation, raw_sha256: str | None) -> dict[str, Any]:
    return dict(
        id=new_id(), email_id=email_id, message_id=clean(message.message_id, 998),
        fingerprint=message.fingerprint, thread_key=thread_key(message), signal=explanation.signal,
        confidence=explanation.confidence, link_status=explanation.link_status,
        candidates=list(explanation.candidates), correlated_email_id=link.email_id if link else None,
        raw_sha256=raw_sha256, raw_size=message.raw_size,
        defects=list(message.defects), is_auto_reply=message.is_auto_reply, is_bulk=message.is_bulk,
    )


def persist(session: Any, ctx: MailboxContext, item: SourceItem, message: NormalisedMessage,
            link: ThreadLink | None, parties: tuple[PartyKey, ...], explanation: Explanation,
            lookups: BatchLookups | None = None) -> TrackedMessage:
    email = new_email(ctx, item, message, link, explanation)
    add_parties(email, parties)
    session.add(email)
    keep_all = ctx.keep_content == "everything"
    if keep_all:
        attachments(session, email, message, lookups)
    raw = store_blob(session, message.raw, message.raw_sha256, lookups) if keep_all else None
    tracked = TrackedMessage(**_tracked_values(email.id, message, link, explanation, raw))
    session.add(tracked)
    if lookups is not None:
        lookups.add_email(email)
        lookups.add_tracked(tracked)
    return tracked


# --- a batch: rows inserted together ------------------------------------------------------------------------
@dataclass(frozen=True)
class WrittenEmail:
    """An email a batch wrote as rows, as the lookups and correlation read an Email."""

    id: uuid.UUID
    message_id: str | None
    tracking_token: str | None
    occurred_on: dt.datetime
    regarding_type: str | None
    regarding_id: uuid.UUID | None


@dataclass(frozen=True)
class WrittenTracked:
    """A tracked-message row a batch wrote, as dedupe and the sighting read a TrackedMessage."""

    id: uuid.UUID
    email_id: uuid.UUID
    message_id: str | None
    fingerprint: str


class BatchRows:
    """The rows of a batch's new mail, inserted by `write` in a few statements (parents first), with one audit
    entry per email. Until then the database does not see them: whatever must find them there (the ORM
    merging a second copy, a case rule, smart matching's query) has the caller `write` first."""

    def __init__(self) -> None:
        # Insertion order: the foreign keys point to earlier tables.
        self._rows: dict[type, list[dict[str, Any]]] = {
            model: [] for model in (MailBlob, Email, ActivityParty, EmailAttachment, TrackedMessage, MailSighting)}
        self._changes: dict[uuid.UUID, dict[str, list[Any]]] = {}  # email id -> its audit entry's changes

    def holds(self, email_id: uuid.UUID | None) -> bool:
        """Whether the email is among the rows not written yet."""
        return email_id in self._changes

    def add(self, model: type, values: dict[str, Any], email_id: uuid.UUID, prefix: str = "",
            audited: dict[str, Any] | None = None) -> None:
        """A row of `model`, audited in the entry of the email `email_id` under `prefix` (the hook's names:
        "party.<id>", "tracking"...; "" for the email itself) with the values `audited` (default: the row's)."""
        changes = created_changes(model, values if audited is None else audited)
        audit = self._changes.setdefault(email_id, {})
        audit.update({f"{prefix}.{k}": v for k, v in changes.items()} if prefix else changes)
        self._rows[model].append(values)

    def blob(self, content: bytes, sha256: str, lookups: BatchLookups) -> str:
        if not lookups.has_blob(sha256):  # content-addressed: stored once (not audited: no record of its own)
            self._rows[MailBlob].append({"sha256": sha256, "size": len(content), "content": content})
            lookups.add_blob(sha256)
        return sha256

    def write(self, session: Session) -> None:
        """Inserts the rows and their audit entries; the batch goes on with none pending."""
        dialect = session.get_bind().dialect.name
        for model, rows in self._rows.items():
            if rows:
                for table, columns in _tables(model, tuple(rows[0])):
                    insert_rows(session, _insert(dialect, table, model is MailBlob), columns, rows)
                rows.clear()
        if self._changes:
            # Into the table (Core), as the rows above: the ORM's bulk insert costs more than the statement.
            session.execute(insert(_audit_table()), [entry_row(session, _email_entity(), email_id, "create", changes)
                                                     for email_id, changes in self._changes.items()])
            self._changes.clear()


@cache
def _insert(dialect: str, table: Table, blob: bool) -> Any:
    """The INSERT of a table's rows, one statement object per table (compiled once). A blob is content-addressed:
    another worker tracking another mailbox's mail with the same attachment (or the same mail) may have stored it
    since this batch looked, and that is no conflict (INSERT ... ON CONFLICT DO NOTHING, in each dialect)."""
    if not blob:
        return insert(table)
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(table).on_conflict_do_nothing(index_elements=["sha256"])
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert(table).on_conflict_do_nothing(index_elements=["sha256"])


@cache
def _tables(model: type, keys: tuple[str, ...]) -> list[tuple[Table, tuple[tuple[str, str], ...]]]:
    """Each table of `model` (an email: activities, then emails), with its (column, attribute) pairs among
    `keys`. Core inserts, one statement per table: the ORM's bulk insert splits a batch into many statements
    wherever a value is None in some rows and not in others. Each row has every key, the same for all."""
    mapper = inspect(model)
    out = []
    for level in reversed(list(mapper.iterate_to_root())):  # the base table first: the others point to it
        columns = tuple((column.key, key) for column in level.local_table.columns
                        if (key := mapper.get_property_by_column(column).key) in keys)
        out.append((level.local_table, columns))
    return out


@cache
def _audit_table() -> Table:
    return inspect(AuditEntry).local_table  # type: ignore[return-value]


@cache
def _email_entity() -> str:
    return entity_of(Email()).name  # the entity an email's audit entries are filed under ("activity")


def persist_rows(rows: BatchRows, ctx: MailboxContext, item: SourceItem, message: NormalisedMessage,
                 link: ThreadLink | None, parties: tuple[PartyKey, ...], explanation: Explanation,
                 lookups: BatchLookups) -> WrittenTracked:
    """`persist` for a batch: the same rows and audit, gathered in `rows` and registered in the lookups."""
    email = email_values(ctx, item, message, link)
    email_id: uuid.UUID = email["id"]
    rows.add(Email, email, email_id)
    for key in missing_parties((), parties):
        party = _party_values(key)
        # The hook sees a party before the flush gives it its activity_id: the trail names it by the prefix.
        rows.add(ActivityParty, {**party, "activity_id": email_id}, email_id, f"party.{party['id']}", audited=party)
    keep_all = ctx.keep_content == "everything"
    if keep_all:
        for a in message.attachments:
            if a.content is not None and not a.too_large:
                rows.blob(a.content, a.sha256, lookups)
            attachment = _attachment_values(email_id, a)
            rows.add(EmailAttachment, attachment, email_id, f"attachment.{attachment['id']}")
    raw = rows.blob(message.raw, message.raw_sha256, lookups) if keep_all else None
    tracked = _tracked_values(email_id, message, link, explanation, raw)
    rows.add(TrackedMessage, tracked, email_id, "tracking")
    lookups.add_email(WrittenEmail(email_id, email["message_id"], email["tracking_token"], email["occurred_on"],
                                   email["regarding_type"], email["regarding_id"]))
    written = WrittenTracked(tracked["id"], email_id, tracked["message_id"], tracked["fingerprint"])
    lookups.add_tracked(written)
    return written


def add_sighting_row(rows: BatchRows, mailbox_id: uuid.UUID, item: SourceItem, tracked: WrittenTracked) -> None:
    """The sighting of a mail written by this batch, as sightings.add_sighting makes it. No check that the place
    is new: the driver left out the places it saw, and a batch holds each place once."""
    sighting_id = new_id()
    rows.add(MailSighting, dict(id=sighting_id, tracked_message_id=tracked.id, mailbox_id=mailbox_id,
                                folder=item.folder, uidvalidity=item.uidvalidity, uid=item.uid),
             tracked.email_id, f"sighting.{sighting_id}")
