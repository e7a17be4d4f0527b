"""Email templates (Dynamics' template): kept like any user-owned record, rendered for a record, and inserted
into a draft email regarding it (Dynamics' "Insert template"), which the usual sending path sends.

Which placeholders a template may use: its target entity's fields, the records that entity looks up (a
case's `{{contact.*}}` is its customer contact, its `{{account.*}}` the customer account), and the sender's
(`{{user.*}}`). A global template (no target entity) may name any entity that takes activities: whichever
record it is rendered for fills the placeholders of its own entity and of the records it looks up."""

import uuid
from dataclasses import dataclass
from functools import cache
from typing import Any, ClassVar

from sqlalchemy import inspect

from crm_core.entities import EntitySpec, all_entities, entity, regarding_entity
from crm_core.errors import NotFound, ValidationFailed
from crm_core.models import EmailTemplate, User
from crm_core.security import access
from crm_core.security.privileges import Privilege
from crm_core.services.activities import ActivityService
from crm_core.services.records import RecordService
from crm_core.services.template_rendering import Rendered, check, render

SENDER_PREFIX = "user"
_TEXT_FIELDS = ("subject", "body_text", "body_html")
# Who a draft is written to, in this order: the record itself, else the first of these it looks up.
_RECIPIENT_PREFIXES = ("contact", "lead", "account")


@cache
def _linked(model: type) -> tuple[tuple[str, str], ...]:
    """(entity, column) for each lookup of `model` to an entity that takes activities, in column order:
    a case's customer_contact_id comes before its primary_contact_id."""
    tables = {spec.model.__table__.name: spec.name for spec in all_entities() if spec.activity_enabled}
    out = []
    for attr in inspect(model).column_attrs:
        for column in attr.columns:
            for fk in column.foreign_keys:
                target = tables.get(fk.column.table.name)
                if target is not None:
                    out.append((target, attr.key))
    return tuple(out)


def allowed_models(target_entity: str | None) -> dict[str, type]:
    """The prefixes a template for `target_entity` may use, with the model whose columns they name."""
    models: dict[str, type] = {SENDER_PREFIX: User}
    if target_entity is None:
        models.update({s.name: s.model for s in all_entities() if s.activity_enabled})
        return models
    spec = entity(target_entity)
    models.update({name: entity(name).model for name, _ in _linked(spec.model)})
    models[spec.name] = spec.model
    return models


@dataclass(frozen=True)
class RenderedFor:
    template: EmailTemplate
    record_type: str
    record_id: uuid.UUID
    rendered: Rendered
    records: dict[str, Any]


class EmailTemplateService(RecordService[EmailTemplate]):
    entity_name = "email_template"
    sortable: ClassVar[set[str]] = {"created_on", "modified_on", "name"}

    def validate(self, record: EmailTemplate, values: dict[str, Any], creating: bool) -> None:
        record.name = (record.name or "").strip()
        if not record.name:
            raise ValidationFailed.field("name", "a template needs a name")
        if record.target_entity is not None:
            try:
                regarding_entity(record.target_entity)
            except ValidationFailed:
                raise ValidationFailed.field(
                    "target_entity",
                    f"{record.target_entity!r} is not an entity that "
                    "takes emails (account, contact, lead, case, opportunity...); "
                    "null for a global template",
                ) from None
        if not (record.subject or "").strip():
            raise ValidationFailed.field("subject", "a template needs a subject")
        if "\r" in record.subject or "\n" in record.subject:
            raise ValidationFailed.field("subject", "a subject is one line")
        if not (record.body_text or record.body_html):
            raise ValidationFailed.field("body_text", "a template needs a body (body_text, body_html or both)")
        models = allowed_models(record.target_entity)
        for field in _TEXT_FIELDS:
            check(getattr(record, field), field, models)

    # --- rendering ---------------------------------------------------------------------------------
    def render(self, template_id: uuid.UUID, record_type: str, record_id: uuid.UUID) -> RenderedFor:
        """The template filled from a record the caller can read (and the records it looks up that he can)."""
        template = self.get(template_id)
        if template.target_entity is not None and record_type != template.target_entity:
            raise ValidationFailed.field(
                "record_type", f"this template is for a {template.target_entity}, not a {record_type}"
            )
        spec = regarding_entity(record_type)
        record = self._readable(spec, record_id)
        if record is None:
            raise NotFound(f"no {record_type} with id {record_id}")
        return self.render_record(template, spec, record, self.principal.user_id)

    def render_record(
        self, template: EmailTemplate, spec: EntitySpec, record: Any, sender_id: uuid.UUID
    ) -> RenderedFor:
        """`template` filled from `record` (which the caller has read), the records it looks up that he can read,
        and the sender `sender_id` (the caller, or the owner a quick campaign's emails are sent by)."""
        records = {SENDER_PREFIX: self.session.get(User, sender_id)}
        for name, column in _linked(spec.model):
            value = getattr(record, column)
            if name not in records and value is not None:
                records[name] = self._readable(entity(name), value)  # unreadable: its placeholders default
        records[spec.name] = record
        rendered = render(template.subject, template.body_text, template.body_html, records)
        return RenderedFor(template, spec.name, record.id, rendered, records)

    def instantiate(self, template_id: uuid.UUID, record_type: str, record_id: uuid.UUID) -> Any:
        """A draft email regarding the record, written to it (or the contact, lead or account it looks up),
        from the caller, with the rendered subject and bodies. Sent as any draft: POST /activities/{id}/send."""
        done = self.render(template_id, record_type, record_id)
        parties = [{"role": "sender", "party_type": "user", "party_id": self.principal.user_id}]
        recipient = self._recipient(done)
        if recipient is not None:
            parties.append({"role": "to", "party_type": recipient[0], "party_id": recipient[1]})
        self.uow.set_action("insert_template")
        values = {
            "activity_type": "email",
            "subject": done.rendered.subject,
            "body_text": done.rendered.body_text,
            "body_html": done.rendered.body_html,
            "direction_outgoing": True,
            "regarding_type": record_type,
            "regarding_id": record_id,
            "parties": parties,
        }
        return ActivityService(self.uow, self.principal).create(values)

    def _recipient(self, done: RenderedFor) -> tuple[str, uuid.UUID] | None:
        for prefix in (done.record_type, *_RECIPIENT_PREFIXES):
            record = done.records.get(prefix)
            if record is None or prefix not in _RECIPIENT_PREFIXES:
                continue
            if any(getattr(record, c, None) for c in entity(prefix).email_columns):
                return prefix, record.id
        return None

    def _readable(self, spec: EntitySpec, record_id: uuid.UUID) -> Any:
        record = self.session.get(spec.model, record_id)
        if record is None or not access.reaches(self.session, self.principal, spec, Privilege.READ, record):
            return None
        return record
