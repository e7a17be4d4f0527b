"""Tracking one message: the steps in order, each in its own module.

normalise -> (unreadable: quarantine) -> block list -> dedupe (known: add the sighting and merge this
mailbox's parties) -> correlate -> resolve parties -> incoming filter -> unknown sender -> explain -> persist
-> sighting.

A batch (`track_items`) first runs whole: its lookups asked in a few queries (mailbridge.tracking.lookups),
its new mail gathered as rows and inserted together (persist.BatchRows, with the audit entries the hook would
write), inside one savepoint. If anything fails there (a bug, a value the database refuses), that savepoint
is undone and the batch runs again mail by mail, each in a savepoint of its own and through the ORM: only
the mail that fails is undone and quarantined as `tracking_failed`; the batch goes on. Nothing here commits:
the driver commits the batch together with its folder checkpoint."""

import dataclasses
import datetime as dt
import logging
from collections.abc import Sequence

from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.orm import Session

from crm_core.db.row_ids import new_id
from crm_core.db.savepoints import savepoint
from crm_core.db.types import utcnow
from crm_core.db.unit_of_work import UnitOfWork
from crm_core.models import Email, TrackedMessage
from mailbridge.errors import Unreadable
from mailbridge.message import NormalisedMessage
from mailbridge.rules import engine as case_rules  # a module: mailbridge.rules imports tracking modules too
from mailbridge.tracking.blocklist import check_block_list
from mailbridge.tracking.context import MailboxContext
from mailbridge.tracking.correlate_subject import thread_key
from mailbridge.tracking.correlation import correlate
from mailbridge.tracking.dedupe import Known, find_known
from mailbridge.tracking.explanation import explain
from mailbridge.tracking.filtering import incoming_filter, may_create_records
from mailbridge.tracking.lookups import BatchLookups, TrackedLike, prefetch, watching_party_records
from mailbridge.tracking.mail_locks import lock_messages
from mailbridge.tracking.options import TrackingOptions
from mailbridge.tracking.parsing import Normalised, normalise_one
from mailbridge.tracking.parties import ResolvedParties, resolve_parties
from mailbridge.tracking.persist import (
    BatchRows,
    WrittenTracked,
    add_parties,
    add_sighting_row,
    is_outgoing,
    persist,
    persist_rows,
)
from mailbridge.tracking.quarantine import quarantine
from mailbridge.tracking.results import Outcome, SourceItem
from mailbridge.tracking.sightings import add_sighting
from mailbridge.tracking.unknown_senders import create_sender_record

log = logging.getLogger(__name__)


def track_items(uow: UnitOfWork, ctx: MailboxContext, items: Sequence[SourceItem], options: TrackingOptions,
                now: dt.datetime | None = None, prepared: Sequence[Normalised] | None = None) -> list[Outcome]:
    """What became of each of a batch's raw messages, in order (the drivers' entry point: one call per batch,
    inside the batch's transaction). `prepared`: the items already normalised (in worker processes), in order."""
    now = now or utcnow()
    messages = list(prepared) if prepared is not None else [
        normalise_one(item.raw, options.normalise) for item in items]
    if len(messages) != len(items):
        raise ValueError("one normalised message per item")
    pairs = list(zip(items, messages, strict=True))
    session = uow.session
    whole = savepoint(session)
    try:
        readable = [m for m in messages if isinstance(m, NormalisedMessage)]
        lock_messages(session, readable)  # before dedupe looks: another worker may be tracking the same mail
        keep_raw = ctx.keep_content == "everything"
        raw_hashes = [m.raw_sha256 for m in readable] if keep_raw else []
        rows = BatchRows()
        with watching_party_records(session, prefetch(session, readable, raw_hashes)) as lookups:
            outcomes = [_one(uow, ctx, item, message, options, now, lookups, rows) for item, message in pairs]
            rows.write(session)
            session.flush()
    except (OperationalError, InterfaceError):
        whole.rollback()
        raise  # the database itself: stop, the batch is not committed, a rerun resumes here
    except Exception:
        whole.rollback()
        log.warning("mailbox %s: a batch of %d failed as a whole; tracking it mail by mail", ctx.name, len(items),
                    exc_info=True)
        return [track_item(uow, ctx, item, options, now, message) for item, message in pairs]
    whole.commit()
    return outcomes


def _one(uow: UnitOfWork, ctx: MailboxContext, item: SourceItem, message: Normalised, options: TrackingOptions,
         now: dt.datetime, lookups: BatchLookups, rows: BatchRows) -> Outcome:
    if isinstance(message, Unreadable):
        return quarantine(uow.session, ctx.mailbox_id, item, message.reason, message.detail)
    return _track(uow, ctx, item, message, options, now, lookups, rows)


def track_item(uow: UnitOfWork, ctx: MailboxContext, item: SourceItem, options: TrackingOptions,
               now: dt.datetime | None = None, message: Normalised | None = None) -> Outcome:
    """What became of one raw message; never raises for the message itself (only for the database)."""
    session = uow.session
    message = message if message is not None else normalise_one(item.raw, options.normalise)
    if isinstance(message, Unreadable):
        return quarantine(session, ctx.mailbox_id, item, message.reason, message.detail)
    lock_messages(session, [message])
    nested = savepoint(session)
    try:
        outcome = _track(uow, ctx, item, message, options, now or utcnow())
        session.flush()
    except (OperationalError, InterfaceError):
        nested.rollback()
        raise  # the database itself: stop, the batch is not committed, a rerun resumes here
    except Exception as exc:
        nested.rollback()
        log.exception("mailbox %s: tracking %s uid %s failed", ctx.name, item.folder, item.uid)
        return quarantine(session, ctx.mailbox_id, item, "tracking_failed", f"{type(exc).__name__}: {exc}")
    nested.commit()
    return outcome


def _track(uow: UnitOfWork, ctx: MailboxContext, item: SourceItem, message: NormalisedMessage,
           options: TrackingOptions, now: dt.datetime, lookups: BatchLookups | None = None,
           rows: BatchRows | None = None) -> Outcome:
    """`rows` (a batch, with its lookups): new mail is gathered there instead of added to the session."""
    session = uow.session
    if check_block_list(message, options).blocked:
        return Outcome("skipped", reason="blocked")
    known = find_known(session, message, lookups)
    if known is not None and known.tracked is not None and known.tracked.email_id is None:
        # A tombstone: someone untracked this mail (privacy); it is never tracked again, from any folder.
        _sighting(session, ctx, item, known.tracked, lookups, rows)
        return Outcome("skipped", reason="untracked")
    if known is not None:
        if rows is not None and rows.holds(known.email_id):
            rows.write(session)  # a second copy of a mail of this batch: the ORM merges it, from the database
        return _merge(uow, ctx, item, message, options, known, lookups, rows)
    if rows is not None and options.smart_matching:
        rows.write(session)  # smart matching asks the database, which must see the batch so far
    link = correlate(session, message, ctx, options, now, lookups)
    parties = resolve_parties(session, message, ctx, options.party_matching, lookups)
    decision = incoming_filter(ctx, link, parties)
    if not decision.track:
        return Outcome("skipped", reason=decision.reason)
    parties = _with_new_sender(uow, ctx, message, parties)
    explanation = explain(link, parties)
    tracked: TrackedLike
    if rows is not None and lookups is not None and ctx.queue_id is None:
        tracked = persist_rows(rows, ctx, item, message, link, parties.keys, explanation, lookups)
    else:
        # A queue's case rules load the new email and may link it to a case, which a reply later in the batch
        # must inherit: the lookups hold the ORM object itself.
        tracked = persist(session, ctx, item, message, link, parties.keys, explanation, lookups)
    _sighting(session, ctx, item, tracked, lookups, rows)
    assert tracked.email_id is not None
    case_rules.run_case_rules(uow, ctx, message, tracked.email_id, options, now)  # email-to-case, queue mailboxes
    if options.meeting_mail is not None and any(a.content_type == "text/calendar" for a in message.attachments):
        # Meeting mail (REQUEST/REPLY/CANCEL) updates the CRM's appointments, after the case rules so that it sees
        # the email's final regarding; the hook reads the email row, so a batch writes out its rows first.
        if rows is not None:
            rows.write(session)
        options.meeting_mail(session, ctx, message, tracked.email_id)
    return Outcome("tracked", email_id=tracked.email_id)


def _with_new_sender(uow: UnitOfWork, ctx: MailboxContext, message: NormalisedMessage,
                     parties: ResolvedParties) -> ResolvedParties:
    sender = parties.unknown_sender
    if sender is None or is_outgoing(message, ctx) or not may_create_records(message):
        return parties
    created = create_sender_record(uow, ctx, message, sender)
    if created is None:
        return parties
    keys = tuple(created if k.participation == created.participation and k.address == sender.address
                 and k.party_id is None else k for k in parties.keys)
    return dataclasses.replace(parties, keys=keys, known_records=True, unknown_sender=None)


def _merge(uow: UnitOfWork, ctx: MailboxContext, item: SourceItem, message: NormalisedMessage,
           options: TrackingOptions, known: Known, lookups: BatchLookups | None, rows: BatchRows | None) -> Outcome:
    """The mail is tracked already (another mailbox or folder, a resync): one more sighting, and the parties
    this mailbox saw (a sender's Sent copy knows the Bcc) merged into the activity."""
    session = uow.session
    email = session.get(Email, known.email_id)
    assert email is not None
    # Loaded before the parties change, so that their audit entry holds the sighting too, as one flush's.
    tracked = _loaded(session, known.tracked) if known.tracked is not None else _adopt(session, email, message, lookups)
    add_parties(email, resolve_parties(session, message, ctx, options.party_matching, lookups).keys)
    _sighting(session, ctx, item, tracked, lookups, rows)
    return Outcome("duplicate", email_id=email.id)


def _loaded(session: Session, tracked: TrackedLike) -> TrackedMessage:
    """The ORM row of a tracked message (one a batch wrote as a row is in the database once written)."""
    orm = tracked if isinstance(tracked, TrackedMessage) else session.get(TrackedMessage, tracked.id)
    assert orm is not None
    return orm


def _sighting(session: Session, ctx: MailboxContext, item: SourceItem, tracked: TrackedLike,
              lookups: BatchLookups | None, rows: BatchRows | None) -> None:
    if rows is not None and isinstance(tracked, WrittenTracked) and rows.holds(tracked.email_id):
        add_sighting_row(rows, ctx.mailbox_id, item, tracked)
        return
    orm = _loaded(session, tracked)
    if lookups is None:
        add_sighting(session, ctx.mailbox_id, item, orm)
        return
    # In a batch the driver has already left out the places it saw, and a batch holds each place once: the
    # existence check need not first write out what the batch holds so far.
    with session.no_autoflush:
        add_sighting(session, ctx.mailbox_id, item, orm)


def _adopt(session: Session, email: Email, message: NormalisedMessage, lookups: BatchLookups | None) -> TrackedMessage:
    """An email the CRM sent, met again in a synced folder: it gets its tracked row; its links were set in the
    CRM, by a person or a rule ("manual")."""
    linked = email.regarding_id is not None
    tracked = TrackedMessage(
        id=new_id(), email_id=email.id, message_id=email.message_id, fingerprint=message.fingerprint,
        thread_key=thread_key(message), signal="manual" if linked else "none", confidence=1.0 if linked else 0.0,
        link_status="linked" if linked else "unlinked", candidates=[], raw_size=message.raw_size,
        defects=list(message.defects), is_auto_reply=message.is_auto_reply, is_bulk=message.is_bulk)
    session.add(tracked)
    if lookups is not None:
        lookups.add_tracked(tracked)
    return tracked
