"""Every link is explainable, and a person has the last word: the link review of tracked mail.

The pipeline (mailbridge.tracking) records on each tracked mail which signal linked it, a confidence and the
other candidates; an ambiguous match (two contacts share an address, two threads share a subject) is left
`needs_review` with no guess. Here a user

- lists the mail waiting for review among the emails he may read (`queue`),
- reads why any email is linked where it is (`explain`),
- re-links an email by hand (`relink`: Write on the email, Append To on the new regarding record, as the
  activity service checks any regarding record; the previous link stays among the candidates), or
- accepts the current link as it is (`confirm`).

A re-link works on a completed email too (tracked mail arrives completed): setting the regarding record is
not editing the mail. Both decisions are audited (actions `relink`, `confirm_link`) on the email's trail."""

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select

from crm_core.activity_catalogue import PARTY_ROLES
from crm_core.db.types import utcnow
from crm_core.errors import NotFound
from crm_core.models import Activity, Email, EmailAttachment, TrackedMessage
from crm_core.security import access
from crm_core.security.privileges import Privilege
from crm_core.services import listing
from crm_core.services.activities import ActivityService
from crm_core.services.activity_display import Ref, describe, record_names

SENDER = PARTY_ROLES["sender"]


@dataclass(frozen=True)
class Candidate:
    type: str
    id: str
    name: str | None  # None where the caller may not read the record
    signal: str | None
    why: str | None
    previous: bool = False  # the link a person replaced
    email_id: str | None = None  # smart matching: the email of the thread


@dataclass(frozen=True)
class AttachmentView:
    filename: str | None
    content_type: str
    size: int
    stored: bool  # False: over the size limit, metadata only


@dataclass(frozen=True)
class LinkView:
    email_id: uuid.UUID
    tracked_id: uuid.UUID | None  # None: an email written in the CRM, never met in a mailbox
    subject: str
    sender_address: str | None
    sender_type: str | None
    sender_id: uuid.UUID | None
    sender_name: str | None
    sent_on: datetime | None
    regarding_type: str | None
    regarding_id: uuid.UUID | None
    regarding_name: str | None
    signal: str
    confidence: float
    link_status: str
    candidates: list[Candidate] = field(default_factory=list)
    reviewed_on: datetime | None = None
    reviewed_by_id: uuid.UUID | None = None
    redacted_on: datetime | None = None
    raw_kept: bool = False
    attachments: list[AttachmentView] = field(default_factory=list)


class MailLinkService(ActivityService):
    """The activity service's access rules and regarding checks, applied to the links of tracked mail."""

    # --- reads -------------------------------------------------------------------------------------
    def queue(self, status: str | None, signal: str | None, cursor: str | None, limit: int) -> listing.Page[LinkView]:
        """Tracked mail (newest first) whose email the caller may read, with that link status and signal."""
        stmt = (select(TrackedMessage).join(Activity, Activity.id == TrackedMessage.email_id)
                .where(access.scope(self.principal, self.spec, Privilege.READ)))
        filters = [listing.Filter(column, listing.Op.EQ, value)
                   for column, value in (("link_status", status), ("signal", signal)) if value is not None]
        query = listing.ListQuery(filters=filters, sort="-created_on", cursor=cursor, limit=limit)
        rows = list(self.session.scalars(listing.apply(stmt, TrackedMessage, query, {"created_on"})))
        page = listing.page(rows, query)
        emails = {e.id: e for e in self.session.scalars(
            select(Email).where(Email.id.in_([t.email_id for t in page.items])))}
        return listing.Page(self._views([(emails[t.email_id], t) for t in page.items]), page.next_cursor)

    def explain(self, email_id: uuid.UUID) -> LinkView:
        return self._views([(self._email(email_id, Privilege.READ), self._tracked_of(email_id))])[0]

    # --- decisions ---------------------------------------------------------------------------------
    def relink(self, email_id: uuid.UUID, regarding_type: str | None, regarding_id: uuid.UUID | None) -> LinkView:
        """Sets (or with both null, clears) the email's regarding record; the link becomes a reviewed manual
        one with confidence 1.0, and the link it replaces is kept among the candidates."""
        email = self._email(email_id, Privilege.WRITE)
        tracked = self._tracked_of(email_id)
        before = (email.regarding_type, email.regarding_id)
        self.uow.set_action("relink")
        with self.session.no_autoflush:
            self._set_regarding(email, {"regarding_type": regarding_type, "regarding_id": regarding_id})
        if tracked is not None:
            candidates = list(tracked.candidates)
            if before[1] is not None and before != (email.regarding_type, email.regarding_id):
                candidates.append({
                    "type": before[0], "id": str(before[1]), "signal": tracked.signal, "previous": True,
                    "why": f"linked by {tracked.signal} (confidence {tracked.confidence:.2f}) until a review"})
            tracked.candidates = candidates
            tracked.signal, tracked.confidence = "manual", 1.0
            self._reviewed(tracked)
        self.session.flush()
        self.uow.commit()
        return self.explain(email_id)

    def confirm(self, tracked_id: uuid.UUID) -> LinkView:
        """Accepts the email's current link (or the absence of one) as it is: reviewed, nothing else moves."""
        tracked = self.session.get(TrackedMessage, tracked_id)
        if tracked is None or tracked.email_id is None:
            raise NotFound(f"no tracked email with id {tracked_id}")
        try:
            self._email(tracked.email_id, Privilege.WRITE)
        except NotFound:
            raise NotFound(f"no tracked email with id {tracked_id}") from None
        self.uow.set_action("confirm_link")
        self._reviewed(tracked)
        self.session.flush()
        self.uow.commit()
        return self.explain(tracked.email_id)

    # --- internals ---------------------------------------------------------------------------------
    def _reviewed(self, tracked: TrackedMessage) -> None:
        tracked.link_status = "reviewed"
        tracked.reviewed_on = utcnow()
        tracked.reviewed_by_id = self.principal.user_id

    def _email(self, email_id: uuid.UUID, privilege: Privilege) -> Email:
        record = self.get(email_id, privilege)
        if not isinstance(record, Email):
            raise NotFound(f"no email with id {email_id} (that activity is a {record.activity_type})")
        return record

    def _tracked_of(self, email_id: uuid.UUID) -> TrackedMessage | None:
        return self.session.scalar(select(TrackedMessage).where(TrackedMessage.email_id == email_id))

    def _views(self, pairs: list[tuple[Email, TrackedMessage | None]]) -> list[LinkView]:
        describe(self.session, self.principal, [e for e, _ in pairs])
        refs: set[Ref] = set()
        for _, tracked in pairs:
            refs.update(r for r in (_ref(c) for c in (tracked.candidates if tracked else [])) if r is not None)
        names = record_names(self.session, self.principal, refs)
        stored = self._attachments([e.id for e, _ in pairs])
        return [self._view(email, tracked, names, stored.get(email.id, [])) for email, tracked in pairs]

    def _attachments(self, email_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[AttachmentView]]:
        out: dict[uuid.UUID, list[AttachmentView]] = {}
        for a in self.session.scalars(select(EmailAttachment).where(EmailAttachment.email_id.in_(email_ids))
                                      .order_by(EmailAttachment.filename)):
            out.setdefault(a.email_id, []).append(AttachmentView(a.filename, a.content_type, a.size, not a.too_large))
        return out

    @staticmethod
    def _view(email: Email, tracked: TrackedMessage | None, names: dict[Ref, str],
              attachments: list[AttachmentView]) -> LinkView:
        display = email.display  # type: ignore[attr-defined]
        sender = next((p for p in email.parties if p.participation == SENDER), None)
        if tracked is not None:
            signal, confidence, status = tracked.signal, tracked.confidence, tracked.link_status
        else:  # written in the CRM: whoever set the regarding record decided it
            linked = email.regarding_id is not None
            signal, confidence, status = ("manual", 1.0, "linked") if linked else ("none", 0.0, "unlinked")
        candidates = [Candidate(
            type=str(c.get("type")), id=str(c.get("id")), name=names.get(ref) if (ref := _ref(c)) else None,
            signal=c.get("signal"), why=c.get("why"), previous=bool(c.get("previous", False)),
            email_id=c.get("email_id")) for c in (tracked.candidates if tracked else [])]
        return LinkView(
            email_id=email.id, tracked_id=tracked.id if tracked else None, subject=email.subject,
            sender_address=sender.address_used if sender else None,
            sender_type=sender.party_type if sender else None, sender_id=sender.party_id if sender else None,
            sender_name=display.name(sender.party_type, sender.party_id) if sender else None,
            sent_on=email.sent_on, regarding_type=email.regarding_type, regarding_id=email.regarding_id,
            regarding_name=display.name(email.regarding_type, email.regarding_id),
            signal=signal, confidence=confidence, link_status=status, candidates=candidates,
            reviewed_on=tracked.reviewed_on if tracked else None,
            reviewed_by_id=tracked.reviewed_by_id if tracked else None,
            redacted_on=tracked.redacted_on if tracked else None,
            raw_kept=bool(tracked and tracked.raw_sha256), attachments=attachments)


def _ref(candidate: dict[str, Any]) -> Ref | None:
    try:
        return str(candidate["type"]), uuid.UUID(str(candidate["id"]))
    except (KeyError, ValueError):
        return None
