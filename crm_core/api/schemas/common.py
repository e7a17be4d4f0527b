"""Bodies shared by every collection: pages, owners, state changes, assignment and sharing."""

import uuid
from datetime import datetime
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from crm_core.security.privileges import Privilege

T = TypeVar("T")


class Strict(BaseModel):
    """Unknown fields are refused, so that a typo is a 422 naming it rather than a silent no-op."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last.")


class RecordOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    created_on: datetime
    modified_on: datetime
    created_by_id: uuid.UUID | None
    modified_by_id: uuid.UUID | None


class OwnedOut(RecordOut):
    owner_type: Literal["user", "team"]
    owner_id: uuid.UUID
    owning_business_unit_id: uuid.UUID


class StatefulOut(OwnedOut):
    statecode: int
    statuscode: int
    state: str = ""
    status: str = ""


class OwnerIn(Strict):
    owner_type: Literal["user", "team"] = "user"
    owner_id: uuid.UUID | None = Field(default=None, description="Defaults to the caller.")


class AssignIn(Strict):
    owner_type: Literal["user", "team"]
    owner_id: uuid.UUID


class ShareIn(Strict):
    principal_type: Literal["user", "team"]
    principal_id: uuid.UUID
    rights: list[Privilege] = Field(description="The rights to grant; an empty list revokes the share.")


class ShareOut(BaseModel):
    principal_type: str
    principal_id: uuid.UUID
    rights: list[Privilege]


class SetStateIn(Strict):
    statecode: int
    statuscode: int | None = Field(default=None, description="Defaults to the state's default status.")


class FieldError(BaseModel):
    field: str
    message: str


class Problem(BaseModel):
    """RFC 9457 problem details, as every error of this API is sent (media type application/problem+json)."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    instance: str
    errors: list[FieldError] | None = Field(default=None, description="The failing fields, on 422.")



PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"description": "No token, or an unknown, revoked or expired one", "model": Problem},
    403: {"description": "Your security roles do not give this privilege", "model": Problem},
    404: {"description": "No such record, or one you cannot read", "model": Problem},
    409: {"description": "The record's state or links forbid it", "model": Problem},
    422: {"description": "Invalid input; `errors` names the fields", "model": Problem},
}


class AuditOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    at: datetime
    user_id: uuid.UUID | None
    entity: str
    record_id: uuid.UUID
    operation: str
    action: str
    changes: dict[str, Any]
