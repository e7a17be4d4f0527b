"""Subjects: the organisation's tree of topics (Dynamics' subject). A tree without cycles; a subject still
filing cases, or with subjects under it, cannot be deleted."""

import uuid
from typing import Any, ClassVar

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from crm_core.errors import Conflict, ValidationFailed
from crm_core.models import Case, Subject
from crm_core.services.records import RecordService


def subject_and_below(session: Session, root: uuid.UUID) -> set[uuid.UUID]:
    """`root` and every subject under it (routing's "under" condition). The tree is small: one query."""
    children: dict[uuid.UUID | None, list[uuid.UUID]] = {}
    for subject_id, parent_id in session.execute(select(Subject.id, Subject.parent_id)):
        children.setdefault(parent_id, []).append(subject_id)
    found, todo = set(), [root]
    while todo:
        current = todo.pop()
        if current not in found:
            found.add(current)
            todo.extend(children.get(current, []))
    return found


class SubjectService(RecordService[Subject]):
    """Organisation-wide: everyone reads the tree; roles with the subject privileges (admins) change it."""

    entity_name = "subject"
    links: ClassVar[dict[str, str]] = {"parent_id": "subject"}
    sortable: ClassVar[set[str]] = {"created_on", "modified_on", "title"}

    def validate(self, record: Subject, values: dict[str, Any], creating: bool) -> None:
        record.title = (record.title or "").strip()
        if not record.title:
            raise ValidationFailed.field("title", "a subject needs a title")
        if values.get("parent_id") is not None:
            self._refuse_cycle(record.id, record.parent_id)

    def _refuse_cycle(self, record_id: uuid.UUID, parent_id: uuid.UUID | None) -> None:
        seen: set[uuid.UUID] = set()
        while parent_id is not None and parent_id not in seen:
            if parent_id == record_id:
                raise ValidationFailed.field("parent_id", "a subject cannot be filed under itself or its own children")
            seen.add(parent_id)
            parent_id = self.session.scalar(select(Subject.parent_id).where(Subject.id == parent_id))

    def before_delete(self, record: Subject) -> None:
        cases = self.session.scalar(select(func.count()).select_from(Case).where(Case.subject_id == record.id))
        if cases:
            raise Conflict(f"{cases} cases are filed under this subject; move them to another subject first")
        children = self.session.scalar(
            select(func.count()).select_from(Subject).where(Subject.parent_id == record.id)
        )
        if children:
            raise Conflict(f"this subject has {children} subjects under it; move or delete them first")
