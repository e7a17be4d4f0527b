"""A dry run: what the first sync of a mailbox WOULD do, before an admin enables it or changes its options, with
nothing written and nothing sent.

It is the real pipeline, not a model of it. The mailbox's source is opened as `sync_mailbox` opens it, and each
folder is read from scratch (no checkpoint is read or saved, nothing is marked in the mailbox; IMAP examines
the folders read-only and fetches with BODY.PEEK), up to `limit` messages in the order the sync takes them.
The connection is closed, and only then the batches go through the driver's own batch step (source_sync:
dedupe, correlation, parties, the incoming filter, unknown senders, email-to-case and its acknowledgements),
all inside ONE transaction that is rolled back at the end. What the step made in it is read back before the
rollback: the contacts, leads and cases it created, the acknowledgements left Pending Send, the records the
new mail is linked to. A guard on the connection refuses any COMMIT in that transaction.

So the preview is what a sync from scratch would do now: mail a former sync saw shows as already seen. The
mailbox need not be allowed to sync (pending approval, incoming off: the admin previews before enabling), but
it must have credentials and an active server profile. One write may happen: a Graph server that rotates the
refresh token hands the new one over, and it is stored as a sync stores it, lest the consent be lost.

The transaction is kept short (no mail server is waited on inside it), but it holds SQLite's write lock and
PostgreSQL's row locks (the case number counter) while it runs: keep the limit modest."""

import dataclasses
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import event, select
from sqlalchemy.orm import Session, sessionmaker

from crm_core.activity_catalogue import PARTY_ROLES
from crm_core.db.savepoints import ensure_transaction
from crm_core.db.unit_of_work import UnitOfWork
from crm_core.errors import Conflict, ValidationFailed
from crm_core.marketing_states import EMAIL_PENDING_SEND
from crm_core.models import Account, ActivityParty, Case, CaseRuleDecision, Contact, Email, Lead
from crm_core.models.mailboxes import INCOMING_FILTERS, KEEP_CONTENT, UNKNOWN_SENDERS
from crm_core.services.mailboxes import connection_of, store_refresh_token
from mailbridge.errors import TemporaryFailure
from mailbridge.sources.base import MailSource, SourceBatch
from mailbridge.sources.registry import SourceOptions, source_for
from mailbridge.tracking.context import MailboxContext, load_mailbox, mailbox_context
from mailbridge.tracking.options import TrackingOptions
from mailbridge.tracking.results import FolderSummary, Outcome, ProgressEvent, SyncSummary
from mailbridge.tracking.source_sync import known_places, track_batch  # the driver's own steps, not copies

DEFAULT_LIMIT = 500
INTERNAL_PARTIES = frozenset({"user", "queue"})  # the mailbox's own side: every mail has one, linking nothing
_WATCHED = (Contact, Lead, Case, Email, CaseRuleDecision)


@dataclass(frozen=True)
class MailboxChanges:
    """Options to preview instead of the mailbox's stored ones (None: as stored); the values are the mailbox's."""

    incoming_filter: str | None = None
    keep_content: str | None = None
    unknown_senders: str | None = None
    folders: tuple[str, ...] | None = None


@dataclass(frozen=True)
class NewContact:
    name: str
    email_address: str | None


@dataclass(frozen=True)
class NewLead:
    name: str | None
    email_address: str | None
    subject: str


@dataclass(frozen=True)
class NewCase:
    title: str
    customer: str | None  # the account's or contact's name


@dataclass(frozen=True)
class Acknowledgement:
    to: tuple[str, ...]
    subject: str | None


@dataclass(frozen=True)
class LinkedRecords:
    """Existing records of one type that new mail would be linked to (as regarding or as a party)."""

    record_type: str
    records: int
    mails: int


@dataclass
class DryRunReport:
    mailbox_id: uuid.UUID
    limit: int
    # The preview read `limit` messages and stopped: the folders may hold more (see `folders_not_read`).
    limit_reached: bool = False
    summary: SyncSummary = field(init=False)
    folders_not_read: list[str] = field(default_factory=list)
    contacts: list[NewContact] = field(default_factory=list)
    leads: list[NewLead] = field(default_factory=list)
    cases: list[NewCase] = field(default_factory=list)
    acknowledgements: list[Acknowledgement] = field(default_factory=list)
    linked: list[LinkedRecords] = field(default_factory=list)
    case_decisions: dict[str, int] = field(default_factory=dict)  # "created", "skipped: unknown_sender"...

    def __post_init__(self) -> None:
        self.summary = SyncSummary(self.mailbox_id)


@dataclass
class _Folder:
    summary: FolderSummary
    batches: list[SourceBatch] = field(default_factory=list)


def preview_mailbox(session_factory: sessionmaker[Session], mailbox_id: uuid.UUID,
                    options: TrackingOptions | None = None, limit: int = DEFAULT_LIMIT,
                    changes: MailboxChanges | None = None) -> DryRunReport:
    """What a first sync of the mailbox would do now, reading at most `limit` messages; nothing is kept.
    Conflict when the mailbox has no credentials or an inactive profile; connection and authentication problems
    raise mailbridge errors (as `sync_mailbox`, but a refused login does not stop the mailbox)."""
    if limit < 1:
        raise ValueError("limit is positive")
    options = options or TrackingOptions()
    changes = changes or MailboxChanges()
    with UnitOfWork(session_factory) as uow:
        mailbox = load_mailbox(uow.session, mailbox_id)
        if mailbox.server_profile.statecode != 0:
            raise Conflict(f"the email server profile {mailbox.server_profile.name!r} is inactive")
        if not mailbox.has_credentials:
            raise Conflict(mailbox.missing_credentials)
        ctx = _changed(mailbox_context(mailbox), changes)
        connection = connection_of(uow.session, mailbox)
        if changes.folders is not None:
            connection = dataclasses.replace(connection, folders=changes.folders)

        def keep(refresh_token: str) -> None:
            with UnitOfWork(session_factory) as kept:
                store_refresh_token(kept.session, mailbox_id, refresh_token)
                kept.commit()

        source = source_for(connection, SourceOptions(options.timeout, options.ssl_context, options.batch_size, keep))
    report = DryRunReport(mailbox_id, limit)
    with source:  # read first, connection closed before the transaction opens
        folders = _read(session_factory, ctx, source, report, options.batch_size)
    _track_and_undo(session_factory, ctx, folders, options, report)
    return report


def _changed(ctx: MailboxContext, changes: MailboxChanges) -> MailboxContext:
    values: dict[str, Any] = {k: v for k, v in dataclasses.asdict(changes).items() if v is not None}
    for name, allowed in (("incoming_filter", INCOMING_FILTERS), ("keep_content", KEEP_CONTENT),
                          ("unknown_senders", UNKNOWN_SENDERS)):
        if name in values and values[name] not in allowed:
            raise ValidationFailed.field(name, f"one of {', '.join(allowed)}")
    return dataclasses.replace(ctx, **values)


def _read(session_factory: sessionmaker[Session], ctx: MailboxContext, source: MailSource, report: DryRunReport,
          batch_size: int) -> list[_Folder]:
    """The new messages of each folder from scratch, in the sync's order, until the limit."""
    known = known_places(session_factory, ctx.mailbox_id)  # as sync_folder answers a source that asks
    folders: list[_Folder] = []
    remaining = report.limit
    for spec in source.folders():
        if spec.name is None:
            folders.append(_Folder(FolderSummary(spec.spec, error=spec.problem)))
            continue
        if remaining == 0:
            report.folders_not_read.append(spec.name)
            continue
        folder = _Folder(FolderSummary(spec.name))
        folders.append(folder)
        try:
            for batch in source.changes(spec.name, None, min(batch_size, remaining), known):
                batch = dataclasses.replace(batch, new=batch.new[:remaining])
                folder.batches.append(batch)
                remaining -= len(batch.new)
                if remaining == 0:
                    break  # the rest of the folder stays on the server, unread
        except TemporaryFailure as exc:  # as a sync: this folder stops, the others are still read
            folder.summary.error, folder.summary.retry_after = f"{exc.reason}: {exc.detail}", exc.retry_after
    report.limit_reached = remaining == 0
    return folders


def _track_and_undo(session_factory: sessionmaker[Session], ctx: MailboxContext, folders: list[_Folder],
                    options: TrackingOptions, report: DryRunReport) -> None:
    """The batches through the pipeline in one transaction; what it made is read into the report, then undone."""
    outcomes: list[Outcome] = []
    made: dict[type, set[uuid.UUID]] = {model: set() for model in _WATCHED}

    def collect(progress: ProgressEvent) -> None:  # the driver reports each message's outcome here
        outcomes.append(progress.outcome)

    def note(session: Session, _context: Any) -> None:  # after each flush: the rows it inserted
        for obj in session.new:
            if isinstance(obj, _WATCHED):
                made[_base(obj)].add(obj.id)

    with UnitOfWork(session_factory) as uow:  # never committed: leaving rolls it back
        session = uow.session
        ensure_transaction(session)
        event.listen(session.connection(), "commit", _refuse_commit)
        event.listen(session, "after_flush", note)
        for folder in folders:
            for batch in folder.batches:
                track_batch(uow, ctx, batch, {}, folder.summary, options, collect, None)
            report.summary.folders[folder.summary.folder] = folder.summary
        session.flush()
        _observe(session, made, outcomes, report)


def _base(obj: object) -> type:
    return next(model for model in _WATCHED if isinstance(obj, model))


def _refuse_commit(_connection: Any) -> None:
    raise RuntimeError("a dry run never commits")


def _observe(session: Session, made: dict[type, set[uuid.UUID]], outcomes: list[Outcome],
             report: DryRunReport) -> None:
    """Reads what the transaction holds of the rows the pipeline created (a savepoint undone dropped its own)."""
    report.contacts = sorted((NewContact(c.full_name, c.email_address1) for c in _rows(session, Contact, made)),
                             key=lambda c: (c.name, c.email_address or ""))
    report.leads = sorted((NewLead(lead.full_name, lead.email_address1, lead.subject)
                           for lead in _rows(session, Lead, made)), key=lambda lead: (lead.name or "", lead.subject))
    report.cases = sorted((NewCase(c.title, _customer_name(session, c)) for c in _rows(session, Case, made)),
                          key=lambda c: c.title)
    to = PARTY_ROLES["to"]
    report.acknowledgements = sorted(
        (Acknowledgement(tuple(sorted(p.address_used or "" for p in e.parties if p.participation == to)), e.subject)
         for e in _rows(session, Email, made)
         if e.direction_outgoing and (e.statecode, e.statuscode) == EMAIL_PENDING_SEND),
        key=lambda a: (a.to, a.subject or ""))
    decisions = Counter(d.outcome + (f": {d.reason}" if d.reason else "")
                        for d in _rows(session, CaseRuleDecision, made))
    report.case_decisions = dict(sorted(decisions.items()))
    created = set().union(*made.values())
    report.linked = _linked(session, [o.email_id for o in outcomes if o.kind == "tracked" and o.email_id], created)


def _rows(session: Session, model: Any, made: dict[type, set[uuid.UUID]]) -> list[Any]:
    ids = list(made[model])
    return list(session.scalars(select(model).where(model.id.in_(ids)))) if ids else []


def _customer_name(session: Session, case: Case) -> str | None:
    if case.customer_account_id is not None:
        account = session.get(Account, case.customer_account_id)
        return account.name if account is not None else None
    contact = session.get(Contact, case.customer_contact_id) if case.customer_contact_id else None
    return contact.full_name if contact is not None else None


def _linked(session: Session, email_ids: list[uuid.UUID], created: set[uuid.UUID]) -> list[LinkedRecords]:
    """Per record type: the existing records the new mail is regarding or has as parties, and how many mails."""
    if not email_ids:
        return []
    links: set[tuple[str, uuid.UUID, uuid.UUID]] = set()  # (type, record, email)
    for email_id, kind, record_id in session.execute(
            select(Email.id, Email.regarding_type, Email.regarding_id).where(Email.id.in_(email_ids))):
        if kind is not None and record_id is not None:
            links.add((kind, record_id, email_id))
    for email_id, kind, record_id in session.execute(
            select(ActivityParty.activity_id, ActivityParty.party_type, ActivityParty.party_id).where(
                ActivityParty.activity_id.in_(email_ids), ActivityParty.party_id.is_not(None))):
        if kind is not None and kind not in INTERNAL_PARTIES:
            links.add((kind, record_id, email_id))
    out = []
    for kind in sorted({k for k, _, _ in links}):
        mine = [(r, e) for k, r, e in links if k == kind and r not in created]
        if mine:
            out.append(LinkedRecords(kind, len({r for r, _ in mine}), len({e for _, e in mine})))
    return out

