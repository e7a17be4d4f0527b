"""Folder-level tracking rules of a mailbox (crm_core.models.mailbox_tracking_folders): list, add, remove.

Access is the mailbox's: reading the rules needs Read on the mailbox, changing them Write (its user, or an
administrator), so a user sets up the tracked folders of his own mailbox as he would in Dynamics' personal
options. A regarding record must exist and be readable by the caller (else 422) and take his Append To (else 403):
every mail moved into the folder will be linked to it. Removing a rule leaves the mail it tracked as it is."""

import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from crm_core.db.unit_of_work import UnitOfWork
from crm_core.entities import entity
from crm_core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from crm_core.models import MailboxTrackingFolder
from crm_core.models.mailbox_tracking_folders import MAX_TRACKING_FOLDER_LENGTH, MAX_TRACKING_FOLDERS
from crm_core.security import access
from crm_core.security.principal import Principal
from crm_core.security.privileges import Privilege
from crm_core.services.mailboxes import MailboxService


def tracking_folders(session: Session, mailbox_id: uuid.UUID) -> list[MailboxTrackingFolder]:
    """The mailbox's rules, by folder name; no access check (the sync acts as the organisation)."""
    return list(
        session.scalars(
            select(MailboxTrackingFolder)
            .where(MailboxTrackingFolder.mailbox_id == mailbox_id)
            .order_by(MailboxTrackingFolder.folder)
        )
    )


class MailboxTrackingFolderService:
    def __init__(self, uow: UnitOfWork, principal: Principal) -> None:
        self.uow = uow
        self.principal = principal
        self.session = uow.session
        self.mailboxes = MailboxService(uow, principal)

    def list(self, mailbox_id: uuid.UUID) -> list[MailboxTrackingFolder]:
        self.mailboxes.get(mailbox_id)
        return tracking_folders(self.session, mailbox_id)

    def create(
        self, mailbox_id: uuid.UUID, folder: str, regarding_type: str | None, regarding_id: uuid.UUID | None
    ) -> MailboxTrackingFolder:
        mailbox = self.mailboxes.get(mailbox_id, Privilege.WRITE)
        name = _folder_name(folder)
        rules = tracking_folders(self.session, mailbox_id)
        if any(r.folder.lower() == name.lower() for r in rules):
            raise Conflict(f"the folder {name!r} of this mailbox is tracked already")
        if len(rules) >= MAX_TRACKING_FOLDERS:
            raise ValidationFailed.field("folder", f"a mailbox tracks at most {MAX_TRACKING_FOLDERS} folders")
        self._check_regarding(regarding_type, regarding_id)
        rule = MailboxTrackingFolder(
            id=uuid.uuid4(),
            mailbox_id=mailbox.id,
            folder=name,
            regarding_type=regarding_type,
            regarding_id=regarding_id,
        )
        self.session.add(rule)
        self.session.flush()
        self.uow.commit()
        return rule

    def delete(self, mailbox_id: uuid.UUID, rule_id: uuid.UUID) -> None:
        self.mailboxes.get(mailbox_id, Privilege.WRITE)
        rule = self.session.get(MailboxTrackingFolder, rule_id)
        if rule is None or rule.mailbox_id != mailbox_id:
            raise NotFound(f"no folder tracking rule {rule_id} on this mailbox")
        self.session.delete(rule)
        self.session.flush()
        self.uow.commit()

    def _check_regarding(self, regarding_type: str | None, regarding_id: uuid.UUID | None) -> None:
        """As an activity's regarding record is checked (ActivityService): an activity-enabled record the caller
        reads (422 otherwise, saying nothing of a record he may not see) and may append to (403)."""
        if regarding_type is None and regarding_id is None:
            return
        if regarding_type is None or regarding_id is None:
            missing = "regarding_type" if regarding_type is None else "regarding_id"
            raise ValidationFailed.field(missing, "give both regarding_type and regarding_id, or neither")
        try:
            spec = entity(regarding_type)
        except ValidationFailed:
            raise ValidationFailed.field("regarding_type", f"unknown entity {regarding_type!r}") from None
        if not spec.activity_enabled:
            raise ValidationFailed.field("regarding_type", f"{regarding_type} cannot be the regarding record of mail")
        target = self.session.get(spec.model, regarding_id)
        if target is None or not access.reaches(self.session, self.principal, spec, Privilege.READ, target):
            raise ValidationFailed.field("regarding_id", f"no {regarding_type} with id {regarding_id}")
        if not access.reaches(self.session, self.principal, spec, Privilege.APPEND_TO, target):
            raise Forbidden(f"regarding_id: your roles do not let you link records to this {regarding_type}")


def _folder_name(folder: str) -> str:
    name = (folder or "").strip().strip("/").strip()
    if not name or len(name) > MAX_TRACKING_FOLDER_LENGTH:
        raise ValidationFailed.field("folder", f"a folder name of 1 to {MAX_TRACKING_FOLDER_LENGTH} characters")
    return name
