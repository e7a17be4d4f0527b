"""Request dependencies: the unit of work of the request and the authenticated caller."""

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session, sessionmaker

from crm_core.api.auth import PrincipalCache, authenticate
from crm_core.db.unit_of_work import UnitOfWork
from crm_core.errors import NotAuthenticated
from crm_core.security.principal import Principal
from crm_core.settings import Settings


@dataclass
class ApiContext:
    """What the API needs from the composition root; set on app.state.crm by workers.app."""

    settings: Settings
    session_factory: sessionmaker[Session]
    principals: PrincipalCache = field(default_factory=PrincipalCache)


@dataclass
class Caller:
    uow: UnitOfWork
    principal: Principal
    context: ApiContext


bearer = HTTPBearer(auto_error=False, description="A personal API token: `crm token create`.")


def context(request: Request) -> ApiContext:
    return request.app.state.crm  # type: ignore[no-any-return]


def caller(
    ctx: Annotated[ApiContext, Depends(context)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Iterator[Caller]:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise NotAuthenticated("send an API token as `Authorization: Bearer <token>`")
    with UnitOfWork(ctx.session_factory) as uow:
        principal = authenticate(uow.session, credentials.credentials, ctx.principals)
        uow.actor_id = principal.user_id
        uow.session.info["actor_id"] = principal.user_id
        yield Caller(uow, principal, ctx)


CallerDep = Annotated[Caller, Depends(caller)]
