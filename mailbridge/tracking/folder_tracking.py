"""Step: folder-level tracking (Dynamics' tracked folders; the rules are crm_core.models.mailbox_tracking_folders).

A mailbox's tracked folders are synced beside its own folders (crm_core.services.mailboxes.sync_folders puts them
in its connection, so every source reads them: IMAP, Graph, EWS). Mail met in a tracked folder

- is tracked whatever the mailbox's incoming filter says (a person put it there: that is the decision to track),
  though the block list still holds and an untracked mail (a tombstone) stays untracked;
- when the rule names a regarding record, is set regarding it, even when correlation linked it elsewhere or it
  was tracked already from another folder: as in Dynamics, the folder's record wins for mail moved there. The
  link becomes a person's ("manual", confidence 1.0), the one it replaces kept among the candidates, and the
  change is audited on the email as `folder_link`.

Only mail at a place the mailbox has not seen is looked at, so a rule applies once per move: a later re-link by
hand stands until the mail is moved again, and a second pass changes nothing. Moving a mail out of the folder
untracks nothing and keeps its regarding record, as Dynamics documents ("Track Outlook email by moving it to a
tracked Exchange folder", What happens when you ... move ...). A rule whose record was deleted since tracks
without linking."""

import dataclasses
import logging
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from crm_core.db.unit_of_work import UnitOfWork
from crm_core.entities import entity
from crm_core.errors import ValidationFailed
from crm_core.models import Email, TrackedMessage
from crm_core.services.mailbox_tracking_folders import tracking_folders
from mailbridge.sources.base import SourceFolder
from mailbridge.tracking.context import MailboxContext
from mailbridge.tracking.threads import Ref

log = logging.getLogger(__name__)

AUDIT_ACTION = "folder_link"


@dataclass(frozen=True)
class FolderRule:
    folder: str  # as the rule names it (the spec the source was given)
    regarding: Ref | None


def folder_rules(session_factory: sessionmaker[Session], mailbox_id: uuid.UUID) -> dict[str, FolderRule]:
    """The mailbox's rules by folder name in lower case (servers compare folder names so, or near enough)."""
    with UnitOfWork(session_factory) as uow:
        rules = tracking_folders(uow.session, mailbox_id)
        return {
            r.folder.lower(): FolderRule(
                r.folder, (r.regarding_type, r.regarding_id) if r.regarding_type and r.regarding_id else None
            )
            for r in rules
        }


def rule_for(rules: dict[str, FolderRule], folder: SourceFolder) -> FolderRule | None:
    """The rule of a folder the source resolved, by its spec (what the rule gave it) or its resolved name."""
    for key in (folder.spec, folder.name):
        if key is not None and key.lower() in rules:
            return rules[key.lower()]
    return None


def tracked_folder_context(ctx: MailboxContext) -> MailboxContext:
    """The mailbox as tracking sees it in a tracked folder: every mail passes its incoming filter."""
    return dataclasses.replace(ctx, incoming_filter="all")


def link_to_folder(session: Session, rule: FolderRule, email_ids: Iterable[uuid.UUID | None]) -> int:
    """Sets the emails regarding the rule's record, audited as `folder_link`, in the batch's transaction;
    returns how many changed."""
    if rule.regarding is None:
        return 0
    kind, record_id = rule.regarding
    if not _exists(session, kind, record_id):
        log.warning(
            "folder %r is tracked regarding %s %s, which no longer exists: mail is tracked unlinked",
            rule.folder,
            kind,
            record_id,
        )
        return 0
    emails = [
        e
        for e in _emails(session, {i for i in email_ids if i is not None})
        if (e.regarding_type, e.regarding_id) != rule.regarding
    ]
    if not emails:
        return 0
    tracked = {
        t.email_id: t
        for t in session.scalars(select(TrackedMessage).where(TrackedMessage.email_id.in_([e.id for e in emails])))
    }
    before = session.info.get("audit_action")
    session.info["audit_action"] = AUDIT_ACTION
    try:
        for email in emails:
            _relink(email, tracked.get(email.id), rule)
        session.flush()
    finally:
        session.info["audit_action"] = before
    return len(emails)


def _relink(email: Email, tracked: TrackedMessage | None, rule: FolderRule) -> None:
    assert rule.regarding is not None
    previous = (email.regarding_type, email.regarding_id)
    email.regarding_type, email.regarding_id = rule.regarding
    if tracked is None:
        return
    candidates = list(tracked.candidates)
    if previous[0] is not None and previous[1] is not None:
        candidates.append(
            {
                "type": previous[0],
                "id": str(previous[1]),
                "signal": tracked.signal,
                "previous": True,
                "why": f"linked by {tracked.signal} until the mail was moved into the tracked folder {rule.folder!r}",
            }
        )
    tracked.candidates = candidates
    # A person moved the mail there: the link is his, as a re-link by hand is (MailLinkService.relink), without
    # a reviewer (no one reviewed it in the CRM).
    tracked.signal, tracked.confidence, tracked.link_status = "manual", 1.0, "linked"


def _emails(session: Session, ids: Sequence[uuid.UUID] | set[uuid.UUID]) -> list[Email]:
    return list(session.scalars(select(Email).where(Email.id.in_(ids)))) if ids else []


def _exists(session: Session, kind: str, record_id: uuid.UUID) -> bool:
    try:
        spec = entity(kind)
    except ValidationFailed:
        return False
    return session.get(spec.model, record_id) is not None
