"""Privacy of tracked mail: untrack, redact, purge an address.

- Untrack: the user who owns a tracked email (or an administrator) removes it from the CRM. The activity,
  its parties, attachments and raw bytes go; a tombstone stays: the tracked row without its email, holding
  only the Message-ID and the content fingerprint, so that dedupe finds the mail on the next sync and it is
  not tracked again (mailbridge's pipeline skips a mail whose known row has no email).
- Redact: the activity stays (who, when, subject, links) but its bodies, attachments and raw bytes go.
- Purge an address (administrators): every tracked mail from or to it is untracked, the parties that still
  show it (on mail the CRM wrote, say) lose it, and the quarantined messages that contain it are discarded.

Every step is audited under its action (untrack, redact, purge), yet the audit trail must not keep what was
removed: the hook records the old values of what changed, and the trail of the activity already held its
body since its creation. So after each change the activity's trail is scrubbed: the removed values read
"***" there, the fields and who changed them when stay. Blobs nobody points at any more are deleted."""

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from sqlalchemy import Column, Text, cast, delete, exists, select
from sqlalchemy.orm import Session

from crm_core.audit import REDACTED
from crm_core.db.base import Base
from crm_core.db.types import utcnow
from crm_core.db.unit_of_work import SharedWork, UnitOfWork
from crm_core.email_addresses import normalize
from crm_core.errors import Conflict, Forbidden, ValidationFailed
from crm_core.models import ActivityParty, AuditEntry, Email, EmailAttachment, MailBlob, MailQuarantine, TrackedMessage
from crm_core.security.principal import Principal
from crm_core.security.privileges import Depth, Privilege
from crm_core.services.activities import ActivityService

# Activity fields whose values say nothing of the mail's content: they stay readable in a scrubbed trail.
_NOT_CONTENT = frozenset({
    "activity_type", "statecode", "statuscode", "owning_user_id", "owning_team_id", "owning_business_unit_id",
    "regarding_type", "regarding_id", "priority_code", "instance_type_code", "direction_outgoing",
    "tracking.signal", "tracking.confidence", "tracking.link_status", "tracking.reviewed_on",
    "tracking.reviewed_by_id", "tracking.redacted_on", "tracking.untracked_on",
})
_BODY_KEYS = frozenset({"body_text", "body_html", "tracking.raw_sha256", "tracking.raw_size"})


def _everything(key: str) -> bool:
    return key not in _NOT_CONTENT


def _bodies(key: str) -> bool:
    return key in _BODY_KEYS or key.startswith("attachment.")


@dataclass(frozen=True)
class PurgeResult:
    untracked: int  # tracked mails from or to the address, now tombstones
    parties_anonymised: int  # parties of other activities that showed the address
    quarantined_discarded: int  # quarantined messages whose bytes contained it


class MailPrivacyService:
    def __init__(self, uow: UnitOfWork, principal: Principal) -> None:
        self.uow = uow
        self.principal = principal
        self.activities = ActivityService(SharedWork(uow), principal)  # its commits only flush: ours decides

    @property
    def session(self) -> Session:
        return self.uow.session

    # --- the three requests ------------------------------------------------------------------------
    def untrack(self, email_id: uuid.UUID) -> None:
        email, tracked = self._tracked_email(email_id, Privilege.DELETE)
        self._require_owner_or_admin(email)
        self.uow.set_action("untrack")
        self._untrack(email, tracked)
        self.uow.commit()

    def redact(self, email_id: uuid.UUID) -> tuple[Email, TrackedMessage]:
        email, tracked = self._tracked_email(email_id, Privilege.WRITE)
        self._require_owner_or_admin(email)
        self.uow.set_action("redact")
        digests = self._stored_digests(email.id, tracked)
        email.body_text = email.body_html = None  # a closed email is read-only, but not to its owner's privacy
        for attachment in self._attachments(email.id):
            self.session.delete(attachment)
        tracked.raw_sha256 = None
        tracked.redacted_on = utcnow()
        self.session.flush()
        scrub_trail(self.session, email.id, _bodies)
        free_blobs(self.session, digests)
        self.uow.commit()
        return email, tracked

    def purge(self, address: str) -> PurgeResult:
        if not self._is_admin():
            raise Forbidden("purging an address needs organisation-wide delete on activities (administrators)")
        try:
            bare = normalize(address)
        except ValueError as exc:
            raise ValidationFailed.field("address", f"not a valid email address: {exc}") from None
        self.uow.set_action("purge")
        tracked_ids = select(ActivityParty.activity_id).where(ActivityParty.address_used == bare)
        rows = self.session.execute(
            select(Email, TrackedMessage).join(TrackedMessage, TrackedMessage.email_id == Email.id)
            .where(Email.id.in_(tracked_ids))).all()
        for email, tracked in rows:
            self._untrack(email, tracked)
        anonymised = self._anonymise_parties(bare)
        self._forget_candidates(bare)
        discarded = self._discard_quarantined(bare)
        self.uow.commit()
        return PurgeResult(len(rows), anonymised, discarded)

    # --- steps -------------------------------------------------------------------------------------
    def _untrack(self, email: Email, tracked: TrackedMessage) -> None:
        """The email goes; its tracked row becomes a tombstone (Message-ID and fingerprint only)."""
        email_id = email.id
        digests = self._stored_digests(email_id, tracked)
        for attachment in self._attachments(email_id):
            self.session.delete(attachment)
        tracked.email_id = None  # first: the row would go with the email (ON DELETE CASCADE)
        tracked.untracked_on = utcnow()
        tracked.thread_key = tracked.raw_sha256 = tracked.correlated_email_id = None
        tracked.candidates, tracked.defects, tracked.raw_size = [], [], 0
        tracked.signal, tracked.confidence, tracked.link_status = "none", 0.0, "unlinked"
        self.session.flush()
        self.activities.delete(email_id)
        scrub_trail(self.session, email_id, _everything)
        free_blobs(self.session, digests)

    def _anonymise_parties(self, bare: str) -> int:
        parties = self.session.scalars(select(ActivityParty).where(ActivityParty.address_used == bare)).all()
        keys: dict[uuid.UUID, set[str]] = {}
        for party in parties:
            party.address_used = None
            keys.setdefault(party.activity_id, set()).add(f"party.{party.id}.address_used")
        self.session.flush()
        for activity_id, removed in keys.items():
            scrub_trail(self.session, activity_id, removed.__contains__)
        return len(parties)

    def _forget_candidates(self, bare: str) -> None:
        """A link to review explains an ambiguous address in words ("2 contacts have the address ..."): the
        words go, the candidates stay."""
        mentioning = self.session.scalars(select(TrackedMessage).where(
            cast(TrackedMessage.candidates, Text).contains(bare, autoescape=True))).all()
        for tracked in mentioning:
            tracked.candidates = [{**c, "why": str(c.get("why", "")).replace(bare, "(purged address)")}
                                  for c in tracked.candidates]
        self.session.flush()
        for tracked in mentioning:
            if tracked.email_id is not None:
                scrub_trail(self.session, tracked.email_id, lambda k: k == "tracking.candidates")

    def _discard_quarantined(self, bare: str) -> int:
        needle = bare.encode()
        rows = [q for q in self.session.scalars(select(MailQuarantine)) if needle in bytes(q.raw.content).lower()]
        for row in rows:
            self.session.delete(row)
        self.session.flush()
        for row in rows:
            scrub_trail(self.session, row.id, _everything, entity="mail_quarantine")
        free_blobs(self.session, {row.raw_sha256 for row in rows})
        return len(rows)

    # --- checks and lookups ------------------------------------------------------------------------
    def _tracked_email(self, email_id: uuid.UUID, privilege: Privilege) -> tuple[Email, TrackedMessage]:
        record = self.activities.get(email_id, privilege)
        if not isinstance(record, Email):
            raise Conflict(f"activity {email_id} is not an email")
        tracked = self.session.scalar(select(TrackedMessage).where(TrackedMessage.email_id == email_id))
        if tracked is None:
            raise Conflict("this email was not tracked from a mailbox (it was written in the CRM): "
                           "edit or delete it instead")
        return record, tracked

    def _is_admin(self) -> bool:
        return self.principal.depth("activity", Privilege.DELETE) >= Depth.ORGANIZATION

    def _require_owner_or_admin(self, email: Email) -> None:
        if email.owning_user_id == self.principal.user_id or self._is_admin():
            return
        raise Forbidden("only the user who owns this email, or an administrator, may untrack or redact it")

    def _attachments(self, email_id: uuid.UUID) -> list[EmailAttachment]:
        return list(self.session.scalars(select(EmailAttachment).where(EmailAttachment.email_id == email_id)))

    def _stored_digests(self, email_id: uuid.UUID, tracked: TrackedMessage) -> set[str]:
        digests = {a.sha256 for a in self._attachments(email_id) if not a.too_large}
        if tracked.raw_sha256:
            digests.add(tracked.raw_sha256)
        return digests


def scrub_trail(session: Session, record_id: uuid.UUID, removed: Callable[[str], bool],
                entity: str = "activity") -> None:
    """Replaces, in every audit entry of the record, the values of the fields `removed` selects by "***"
    (None stays None: that a field was empty is no content)."""
    for entry in session.scalars(select(AuditEntry).where(AuditEntry.entity == entity,
                                                          AuditEntry.record_id == record_id)):
        changes = {k: [None if v is None else REDACTED for v in values] if removed(k) else values
                   for k, values in entry.changes.items()}
        if changes != entry.changes:
            entry.changes = changes
    session.flush()


def _blob_references() -> list[Column[str]]:
    """Every column that may name a blob: foreign keys to mail_blobs, and attachments' hashes (no foreign
    key: an attachment over the size limit keeps its hash without a blob)."""
    columns: list[Column[str]] = [EmailAttachment.__table__.c.sha256]  # type: ignore[attr-defined]
    for table in Base.metadata.sorted_tables:
        columns.extend(fk.parent for fk in table.foreign_keys if fk.column.table.name == MailBlob.__tablename__)
    return columns


def free_blobs(session: Session, digests: Iterable[str]) -> int:
    """Deletes the blobs among `digests` that no row points at any more; how many. Blobs are not
    reference-counted (see docs/mail-tracking.md, Storage): the rows that may point at them are asked."""
    references = _blob_references()
    freed = 0
    for digest in {d for d in digests if d}:
        if any(session.scalar(select(exists().where(column == digest))) for column in references):
            continue
        freed += session.execute(delete(MailBlob).where(MailBlob.sha256 == digest)).rowcount or 0
    return freed
