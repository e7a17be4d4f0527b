"""Bodies of /email-templates: the template, and a record to render it for."""

import uuid

from pydantic import BaseModel, Field

from crm_core.api.schemas.common import OwnedOut, OwnerIn, Strict

_PLACEHOLDERS = (
    "Placeholders: {{entity.field}} or {{entity.field|default}}, e.g. {{contact.first_name|there}}, "
    "{{case.case_number}}, {{user.full_name}} (the sender)."
)


class _TemplateFields(Strict):
    description: str | None = None
    target_entity: str | None = Field(
        default=None,
        max_length=64,
        description="The entity whose records fill "
        "it: contact, lead, account, case, opportunity...; null: a global template.",
    )
    language_code: str | None = Field(
        default=None,
        max_length=35,
        pattern=r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$",
        description="BCP 47: en, en-GB, de-CH.",
    )
    body_text: str | None = Field(default=None, max_length=200_000, description=f"Plain-text body. {_PLACEHOLDERS}")
    body_html: str | None = Field(
        default=None, max_length=400_000, description="HTML body; every value is HTML-escaped where it is put."
    )


class EmailTemplateCreate(_TemplateFields, OwnerIn):
    name: str = Field(min_length=1, max_length=200)
    subject: str = Field(min_length=1, max_length=1000, description=f"One line. {_PLACEHOLDERS}")
    language_code: str = Field(default="en", max_length=35, pattern=r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$")


class EmailTemplateUpdate(_TemplateFields):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    subject: str | None = Field(default=None, min_length=1, max_length=1000)


class EmailTemplateOut(OwnedOut):
    name: str
    description: str | None
    target_entity: str | None
    language_code: str
    subject: str
    body_text: str | None
    body_html: str | None


class RecordRefIn(Strict):
    record_type: str = Field(description="The record's entity: contact, case... (the template's target entity).")
    record_id: uuid.UUID


class RenderedOut(BaseModel):
    template_id: uuid.UUID
    record_type: str
    record_id: uuid.UUID
    subject: str
    body_text: str | None
    body_html: str | None
