"""Email templates in the task pane (Dynamics' App for Outlook: "Insert template" while composing): the templates
the caller may read that fit a record the pane shows, and one of them rendered for such a record.

Rendering is crm_core.services.email_templates' own, so the pane gets what every other use gets: values
HTML-escaped in the HTML body and no line break in the subject. The pane inserts the result as it is and never
builds HTML itself."""

import uuid
from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from addin_manifest.context import readable_scope
from addin_manifest.record import KINDS
from crm_core.db.unit_of_work import UnitOfWork
from crm_core.errors import ValidationFailed
from crm_core.models import EmailTemplate
from crm_core.security.principal import Principal
from crm_core.services.email_templates import EmailTemplateService
from crm_core.services.template_rendering import Rendered

LIMIT = 200  # a select in a 320-pixel pane: more would not be read anyway


@dataclass(frozen=True)
class TemplateItem:
    id: uuid.UUID
    name: str
    target_entity: str | None  # None: a global template, for any of the pane's records
    language_code: str


def readable_templates(session: Session, principal: Principal) -> list[TemplateItem]:
    """The templates the caller may read for the pane's kinds of record (and the global ones), by name."""
    readable = readable_scope(principal, "email_template")
    if readable is None:
        return []
    fits = or_(EmailTemplate.target_entity.is_(None), EmailTemplate.target_entity.in_(KINDS))
    rows = session.execute(
        select(EmailTemplate.id, EmailTemplate.name, EmailTemplate.target_entity, EmailTemplate.language_code)
        .where(fits, readable)
        .order_by(EmailTemplate.name, EmailTemplate.id)
        .limit(LIMIT)
    )
    return [TemplateItem(*row) for row in rows]


def render_for(
    uow: UnitOfWork, principal: Principal, template_id: uuid.UUID, kind: str, record_id: uuid.UUID
) -> Rendered:
    """The template filled from a record the caller can read: 404 for a template or record he cannot read, 422
    naming `type` for a kind the pane does not show or one the template is not for."""
    if kind not in KINDS:
        raise ValidationFailed.field("type", f"one of {', '.join(KINDS)}")
    service = EmailTemplateService(uow, principal)
    template = service.get(template_id)
    if template.target_entity not in (None, kind):
        raise ValidationFailed.field("type", f"this template is for a {template.target_entity}, not a {kind}")
    return service.render(template_id, kind, record_id).rendered
