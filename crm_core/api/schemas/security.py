"""Bodies of the security administration API: business units, users, teams, security roles and tokens."""

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from crm_core.api.schemas.common import RecordOut, Strict
from crm_core.security.privileges import Depth

# --- business units --------------------------------------------------------------------------------


class BusinessUnitCreate(Strict):
    name: str = Field(min_length=1, max_length=160)
    parent_id: uuid.UUID | None = Field(default=None, description="Defaults to the root unit (the organisation).")


class BusinessUnitUpdate(Strict):
    name: str | None = Field(default=None, min_length=1, max_length=160)
    parent_id: uuid.UUID | None = Field(default=None, description="Move the unit under another one.")


class BusinessUnitOut(RecordOut):
    name: str
    parent_id: uuid.UUID | None
    is_disabled: bool


# --- users -----------------------------------------------------------------------------------------


class RoleRef(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str


ENTRA_TENANT = "His Microsoft Entra ID tenant id (`tid`), for the Outlook add-in; set with the object id, null clears."
ENTRA_OBJECT = "His object id in that tenant (`oid`): the add-in finds him by the pair, never by email."


class UserCreate(Strict):
    email: str = Field(max_length=320, description="Sign-in address; validated, normalised, unique.")
    full_name: str = Field(min_length=1, max_length=200)
    business_unit_id: uuid.UUID | None = Field(default=None, description="Defaults to the root unit.")
    role_ids: list[uuid.UUID] = Field(default_factory=list, description="Security roles to give him.")
    entra_tenant_id: uuid.UUID | None = Field(default=None, description=ENTRA_TENANT)
    entra_object_id: uuid.UUID | None = Field(default=None, description=ENTRA_OBJECT)


class UserUpdate(Strict):
    email: str | None = Field(default=None, max_length=320)
    full_name: str | None = Field(default=None, min_length=1, max_length=200)
    business_unit_id: uuid.UUID | None = Field(
        default=None, description="Moving a user moves the records he owns to the new unit.")
    entra_tenant_id: uuid.UUID | None = Field(default=None, description=ENTRA_TENANT)
    entra_object_id: uuid.UUID | None = Field(default=None, description=ENTRA_OBJECT)


class UserOut(RecordOut):
    email: str
    full_name: str
    business_unit_id: uuid.UUID
    is_disabled: bool
    roles: list[RoleRef]
    entra_tenant_id: str | None = None
    entra_object_id: str | None = None


class RoleIdsIn(Strict):
    role_ids: list[uuid.UUID] = Field(description="The complete list of roles; an empty list removes all.")


# --- teams -----------------------------------------------------------------------------------------


class MemberRef(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    email: str
    full_name: str


class TeamCreate(Strict):
    name: str = Field(min_length=1, max_length=160)
    business_unit_id: uuid.UUID | None = Field(default=None, description="Defaults to the caller's unit.")
    team_type: Literal["owner", "access"] = Field(
        default="owner", description="Owner teams own records and hold roles; access teams only get shares.")


class TeamUpdate(Strict):
    name: str | None = Field(default=None, min_length=1, max_length=160)
    business_unit_id: uuid.UUID | None = Field(
        default=None, description="Moving a team moves the records it owns to the new unit.")


class TeamOut(RecordOut):
    name: str
    business_unit_id: uuid.UUID
    team_type: str
    members: list[MemberRef]
    roles: list[RoleRef]


class MembersIn(Strict):
    user_ids: list[uuid.UUID] = Field(description="The complete list of members; an empty list removes all.")


# --- security roles --------------------------------------------------------------------------------


class PrivilegeIn(Strict):
    entity: str = Field(max_length=64, examples=["account"])
    privilege: str = Field(max_length=16, description="create, read, write, delete, append, append_to, "
                           "assign or share", examples=["read"])
    depth: str | int = Field(description="user, business_unit, parent_child, organization (or 1, 2, 4, 8)",
                             examples=["business_unit"])

    @field_validator("depth", mode="before")
    @classmethod
    def _name_or_number(cls, value: object) -> object:
        # Refused here so that true or 2.5 is one clear message rather than one per member of the union.
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise ValueError("a depth name (user, business_unit, parent_child, organization) or number (1, 2, 4, 8)")
        return value


class SecurityRoleCreate(Strict):
    name: str = Field(min_length=1, max_length=160)
    description: str | None = Field(default=None, max_length=2000)
    privileges: list[PrivilegeIn] = Field(default_factory=list)


class SecurityRoleUpdate(Strict):
    name: str | None = Field(default=None, min_length=1, max_length=160)
    description: str | None = Field(default=None, max_length=2000)
    privileges: list[PrivilegeIn] | None = Field(default=None, description="Replaces all the privileges.")


class PrivilegeOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    entity: str
    privilege: str
    depth: str

    @field_validator("depth", mode="before")
    @classmethod
    def _depth_name(cls, value: object) -> object:
        return Depth(value).name.lower() if isinstance(value, int) else value


class SecurityRoleOut(RecordOut):
    name: str
    description: str | None
    privileges: list[PrivilegeOut]

    @field_validator("privileges", mode="after")
    @classmethod
    def _sorted(cls, value: list[PrivilegeOut]) -> list[PrivilegeOut]:
        return sorted(value, key=lambda p: (p.entity, p.privilege))


# --- tokens ----------------------------------------------------------------------------------------


class TokenCreate(Strict):
    name: str = Field(min_length=1, max_length=100, description="What the token is for.")
    days: int | None = Field(default=None, ge=1, le=3650, description="Lifetime; defaults to CRM_API_TOKEN_DAYS.")


class TokenOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    created_on: datetime
    expires_on: datetime
    revoked_on: datetime | None
    status: Literal["active", "expired", "revoked"]


class TokenCreated(TokenOut):
    token: str = Field(description="The secret, shown this once: store it now.")
