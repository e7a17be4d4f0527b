"""Tracking the mail in view from the add-in: the very activity server-side sync makes, never a second one.

The mail is named by its Message-ID (and Office's item id); its bytes are read by the server from the mailbox
(mail_fetch) and go through mailbridge's tracking pipeline with that mailbox's context, as a sync would. So:

- Idempotent: a mail already tracked (by sync, by another user, by a double click) is found by its Message-ID
  and only its regarding record is set; two calls at once are serialised by the pipeline's own locks.
- A later sync of the mail finds it known and adds its sighting; the parties both saw are merged.
- The user asked: the mailbox's incoming filter (known records only, CRM replies only) does not apply, but the
  organisation's block list does. A mail untracked before (a tombstone) may be tracked again by a person.
- Which mailbox the item is in is recorded as the sighting's mailbox (a shared or a queue's mailbox when the pane
  says so); the user must be that mailbox's user, or a member of its queue.

Nothing is held open while the mail server answers: the mailbox is looked up and the transaction ended before
the fetch, and the pipeline's write is one transaction after it."""

import dataclasses
import uuid
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from addin_manifest.auth.principal import AddinCaller
from addin_manifest.tracking.mail_fetch import DelegatedGraph, FetchOptions, OutlookItem, fetch_mime
from crm_core.email_addresses import normalize
from crm_core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from crm_core.message_ids import normalise_message_id
from crm_core.models import Email, Mailbox, TrackedMessage
from crm_core.security.principal import Principal
from crm_core.services.mail_links import MailLinkService
from crm_core.services.mail_privacy import MailPrivacyService
from crm_core.services.mailboxes import MailboxConnection, connection_of
from crm_core.services.queues import is_member
from mailbridge.sources.graph.client import GraphClient
from mailbridge.tracking.context import MailboxContext, mailbox_context
from mailbridge.tracking.options import TrackingOptions
from mailbridge.tracking.pipeline import track_items
from mailbridge.tracking.results import SourceItem

PLACE_PREFIX = "addin:"  # a sighting's folder for mail the add-in tracked: no folder or UID is known to it


class NotTrackable(ValidationFailed):
    title = "Mail not tracked"


@dataclass(frozen=True)
class TrackedMail:
    email_id: uuid.UUID
    created: bool  # False: it was tracked already (by sync, by someone else, or a repeated call)
    mailbox_id: uuid.UUID


def message_id_of(value: str | None) -> str:
    found = normalise_message_id(value)
    if found is None:
        raise ValidationFailed.field("internet_message_id", "the mail's Message-ID, as Outlook gives it")
    return found


def tracked_email_id(session: Session, message_id: str) -> uuid.UUID | None:
    return session.scalar(select(TrackedMessage.email_id).where(
        TrackedMessage.message_id == message_id, TrackedMessage.email_id.is_not(None)).limit(1))


def usable_mailbox(session: Session, principal: Principal, address: str | None) -> Mailbox:
    """The CRM mailbox the item is in: the caller's own (no address, or his own address), or a shared one he
    works (a queue's mailbox whose queue he is a member of, or a public queue's)."""
    if address:
        # Stored normalised (MailboxService), so one exact lookup.
        mailbox = session.scalar(select(Mailbox).where(Mailbox.email_address == normalize(address)))
    else:
        mailbox = session.scalar(select(Mailbox).where(Mailbox.user_id == principal.user_id))
    if mailbox is None:
        whose = address or "your mailbox"
        raise Conflict(f"{whose} is not set up in the CRM: an administrator adds and approves it (mailbox "
                       "settings) before mail in it can be tracked")
    if mailbox.user_id is not None and mailbox.user_id != principal.user_id and not principal.is_system:
        raise Forbidden(f"{mailbox.email_address} is another user's mailbox")
    queue = mailbox.queue
    if queue is not None and queue.queue_view_type == 1 and not is_member(principal, queue):
        raise Forbidden(f"{mailbox.email_address} is the mailbox of the private queue {queue.name!r}, whose "
                        "members alone may track its mail")
    if mailbox.approval_status != "approved":
        raise Conflict(f"{mailbox.email_address} is not approved yet: an administrator approves it first")
    return mailbox


class AddinMailTracking:
    def __init__(self, caller: AddinCaller, options: TrackingOptions) -> None:
        self.caller = caller
        self.uow = caller.uow
        self.principal = caller.principal
        self.options = options

    @property
    def session(self) -> Session:
        return self.uow.session

    def track(self, item: OutlookItem, mailbox_address: str | None,
              regarding: tuple[str, uuid.UUID] | None) -> TrackedMail:
        mailbox = usable_mailbox(self.session, self.principal, mailbox_address)
        existing = tracked_email_id(self.session, item.internet_message_id)
        if existing is not None:
            self._relink(existing, regarding)
            return TrackedMail(existing, False, mailbox.id)
        ctx, connection = mailbox_context(mailbox), connection_of(self.session, mailbox)
        self.uow.commit()  # no transaction held while the mail server answers
        raw = fetch_mime(connection, item, FetchOptions(ssl_context=self.caller.auth.ssl_context),
                         self._delegated(connection))
        email_id, created = self._track_raw(ctx, item, raw)
        self._relink(email_id, regarding)
        return TrackedMail(email_id, created, ctx.mailbox_id)

    def untrack(self, internet_message_id: str) -> uuid.UUID:
        email_id = tracked_email_id(self.session, internet_message_id)
        if email_id is None:
            raise NotFound("this mail is not tracked")
        MailPrivacyService(self.uow, self.principal).untrack(email_id)
        return email_id

    # --- steps ---------------------------------------------------------------------------------------------
    def _delegated(self, connection: MailboxConnection) -> DelegatedGraph | None:
        obo, claims = self.caller.auth.obo, self.caller.claims
        if obo is None or claims is None or connection.protocol != "graph":
            return None
        token = self.caller.token

        def client(address: str) -> GraphClient:
            return obo.graph(token, claims.tenant_id, address)
        return client

    def _track_raw(self, ctx: MailboxContext, item: OutlookItem, raw: bytes) -> tuple[uuid.UUID, bool]:
        session = self.session
        self.uow.set_action("track")
        # A person asks for this mail: a tombstone (someone untracked it) is lifted, and the mailbox's filter,
        # which decides what sync picks up on its own, does not apply.
        session.execute(delete(TrackedMessage).where(TrackedMessage.message_id == item.internet_message_id,
                                                     TrackedMessage.email_id.is_(None)))
        place = SourceItem(f"{PLACE_PREFIX}{item.internet_message_id}"[:500], 0, 0, raw)
        outcome = track_items(self.uow, dataclasses.replace(ctx, incoming_filter="all"), [place], self.options)[0]
        if outcome.email_id is None:
            self.uow.commit()  # a quarantine record keeps the bytes and the reason
            why = {"blocked": "a party of this mail is on the organisation's block list"}.get(
                outcome.reason or "", outcome.detail or outcome.reason or outcome.kind)
            raise NotTrackable(f"the mail was not tracked: {why}")
        if normalise_message_id(_header_id(session, outcome.email_id)) != item.internet_message_id:
            session.rollback()
            raise NotTrackable("the item the mailbox gave is not the mail in view (its Message-ID differs)")
        self.uow.commit()
        return outcome.email_id, outcome.kind == "tracked"

    def _relink(self, email_id: uuid.UUID, regarding: tuple[str, uuid.UUID] | None) -> None:
        if regarding is None:
            return
        email = self.session.get(Email, email_id)
        if email is not None and (email.regarding_type, email.regarding_id) == regarding:
            return
        MailLinkService(self.uow, self.principal).relink(email_id, regarding[0], regarding[1])


def _header_id(session: Session, email_id: uuid.UUID) -> str | None:
    return session.scalar(select(Email.message_id).where(Email.id == email_id))
