"""/business-units, /users, /teams, /security-roles and /me/tokens: the security administration API.

The four collections come from Resource declarations (list, create, read, update, delete, audit); `router`
adds what is particular to each: disable/enable, roles, team members, and personal API tokens."""

import uuid
from typing import Any

from fastapi import APIRouter, Response, status

from crm_core.api.deps import CallerDep
from crm_core.api.resource import FilterField, Resource
from crm_core.api.schemas.security import (
    BusinessUnitCreate,
    BusinessUnitOut,
    BusinessUnitUpdate,
    MembersIn,
    RoleIdsIn,
    SecurityRoleCreate,
    SecurityRoleOut,
    SecurityRoleUpdate,
    TeamCreate,
    TeamOut,
    TeamUpdate,
    TokenCreate,
    TokenCreated,
    TokenOut,
    UserCreate,
    UserOut,
    UserUpdate,
)
from crm_core.db.types import utcnow
from crm_core.models import ApiToken
from crm_core.services.api_tokens import ApiTokenService
from crm_core.services.business_units import BusinessUnitService
from crm_core.services.listing import Op
from crm_core.services.security_roles import SecurityRoleService
from crm_core.services.teams import TeamService
from crm_core.services.users import UserService

RESOURCES = [
    Resource(
        "business_unit", BusinessUnitService, BusinessUnitCreate, BusinessUnitUpdate, BusinessUnitOut,
        tag="business-units",
        filters=[FilterField("name", str, (Op.EQ, Op.CONTAINS)), FilterField("parent_id", uuid.UUID),
                 FilterField("is_disabled", bool)],
    ),
    Resource(
        "user", UserService, UserCreate, UserUpdate, UserOut, tag="users", deletable=False,
        filters=[FilterField("business_unit_id", uuid.UUID), FilterField("is_disabled", bool),
                 FilterField("email", str), FilterField("full_name", str, (Op.EQ, Op.CONTAINS))],
    ),
    Resource(
        "team", TeamService, TeamCreate, TeamUpdate, TeamOut, tag="teams",
        filters=[FilterField("business_unit_id", uuid.UUID), FilterField("team_type", str),
                 FilterField("name", str, (Op.EQ, Op.CONTAINS))],
    ),
    Resource(
        "security_role", SecurityRoleService, SecurityRoleCreate, SecurityRoleUpdate, SecurityRoleOut,
        tag="security-roles", filters=[FilterField("name", str, (Op.EQ, Op.CONTAINS))],
    ),
]

router = APIRouter()


# --- business units --------------------------------------------------------------------------------
@router.post("/business-units/{record_id}/disable", response_model=BusinessUnitOut, tags=["business-units"],
             summary="Disable a business unit: its users (and those of the units below) can no longer sign in")
def disable_unit(caller: CallerDep, record_id: uuid.UUID) -> Any:
    return BusinessUnitService(caller.uow, caller.principal).set_disabled(record_id, True)


@router.post("/business-units/{record_id}/enable", response_model=BusinessUnitOut, tags=["business-units"],
             summary="Enable a business unit")
def enable_unit(caller: CallerDep, record_id: uuid.UUID) -> Any:
    return BusinessUnitService(caller.uow, caller.principal).set_disabled(record_id, False)


# --- users -----------------------------------------------------------------------------------------
@router.post("/users/{record_id}/disable", response_model=UserOut, tags=["users"],
             summary="Disable a user: his tokens stop working and he can no longer own records")
def disable_user(caller: CallerDep, record_id: uuid.UUID) -> Any:
    return UserService(caller.uow, caller.principal).set_disabled(record_id, True)


@router.post("/users/{record_id}/enable", response_model=UserOut, tags=["users"], summary="Enable a user")
def enable_user(caller: CallerDep, record_id: uuid.UUID) -> Any:
    return UserService(caller.uow, caller.principal).set_disabled(record_id, False)


@router.put("/users/{record_id}/roles", response_model=UserOut, tags=["users"],
            summary="Set a user's security roles (you can give only roles whose privileges you hold)")
def set_user_roles(caller: CallerDep, record_id: uuid.UUID, body: RoleIdsIn) -> Any:
    return UserService(caller.uow, caller.principal).set_roles(record_id, body.role_ids)


@router.get("/users/{record_id}/tokens", response_model=list[TokenOut], tags=["users"],
            summary="A user's API tokens (administrators)")
def list_user_tokens(caller: CallerDep, record_id: uuid.UUID) -> Any:
    return [_token_out(t) for t in ApiTokenService(caller.uow, caller.principal).list_for_user(record_id)]


@router.delete("/users/{record_id}/tokens/{token_id}", status_code=status.HTTP_204_NO_CONTENT, tags=["users"],
               summary="Revoke a user's API token (administrators)")
def revoke_user_token(caller: CallerDep, record_id: uuid.UUID, token_id: uuid.UUID) -> Response:
    ApiTokenService(caller.uow, caller.principal).revoke_for_user(record_id, token_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# --- teams -----------------------------------------------------------------------------------------
@router.put("/teams/{record_id}/members", response_model=TeamOut, tags=["teams"], summary="Set a team's members")
def set_team_members(caller: CallerDep, record_id: uuid.UUID, body: MembersIn) -> Any:
    return TeamService(caller.uow, caller.principal).set_members(record_id, body.user_ids)


@router.put("/teams/{record_id}/roles", response_model=TeamOut, tags=["teams"],
            summary="Set an owner team's security roles (access teams hold none)")
def set_team_roles(caller: CallerDep, record_id: uuid.UUID, body: RoleIdsIn) -> Any:
    return TeamService(caller.uow, caller.principal).set_roles(record_id, body.role_ids)


# --- the caller's tokens ---------------------------------------------------------------------------
@router.get("/me/tokens", response_model=list[TokenOut], tags=["security"], summary="My API tokens")
def list_my_tokens(caller: CallerDep) -> Any:
    return [_token_out(t) for t in ApiTokenService(caller.uow, caller.principal).list_mine()]


@router.post("/me/tokens", response_model=TokenCreated, status_code=status.HTTP_201_CREATED, tags=["security"],
             summary="Create an API token; the token is in this response only")
def create_my_token(caller: CallerDep, body: TokenCreate) -> Any:
    days = body.days or caller.context.settings.api_token_days
    row, token = ApiTokenService(caller.uow, caller.principal).create_mine(body.name, days)
    return TokenCreated(**_token_out(row).model_dump(), token=token)


@router.delete("/me/tokens/{token_id}", status_code=status.HTTP_204_NO_CONTENT, tags=["security"],
               summary="Revoke one of my API tokens")
def revoke_my_token(caller: CallerDep, token_id: uuid.UUID) -> Response:
    ApiTokenService(caller.uow, caller.principal).revoke_mine(token_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


def _token_out(row: ApiToken) -> TokenOut:
    state = "revoked" if row.revoked_on is not None else "expired" if row.expires_on <= utcnow() else "active"
    return TokenOut(id=row.id, name=row.name, created_on=row.created_on, expires_on=row.expires_on,
                    revoked_on=row.revoked_on, status=state)
