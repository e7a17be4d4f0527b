"""Request dependencies: the unit of work of the request and the authenticated caller."""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Depends, Request, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import TypeAdapter
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

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


async def context(request: Request) -> ApiContext:
    return request.app.state.crm  # type: ignore[no-any-return]


ContextDep = Annotated[ApiContext, Depends(context)]
BearerDep = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]


@contextmanager
def open_caller(ctx: ApiContext, credentials: HTTPAuthorizationCredentials | None) -> Iterator[Caller]:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise NotAuthenticated("send an API token as `Authorization: Bearer <token>`")
    with UnitOfWork(ctx.session_factory) as uow:
        principal = authenticate(uow.session, credentials.credentials, ctx.principals)
        uow.actor_id = principal.user_id
        uow.session.info["actor_id"] = principal.user_id
        yield Caller(uow, principal, ctx)


def caller(ctx: ContextDep, credentials: BearerDep) -> Iterator[Caller]:
    with open_caller(ctx, credentials) as c:
        yield c


CallerDep = Annotated[Caller, Depends(caller)]


async def respond(ctx: ApiContext, credentials: HTTPAuthorizationCredentials | None,
                  work: Callable[[Caller], Any], adapter: TypeAdapter[Any] | None,
                  status_code: int = 200) -> Response:
    """Runs a whole request in one worker thread: authentication, the service, rendering and the JSON bytes,
    inside the unit of work. A sync route with a yield dependency hops threads five times and validates its
    result twice; this hops once and serialises once (bench/api_read_profile.py measured the difference)."""

    def run() -> bytes | None:
        with open_caller(ctx, credentials) as c:
            result = work(c)
            return None if adapter is None else adapter.dump_json(adapter.validate_python(result))

    content = await run_in_threadpool(run)
    if content is None:
        return Response(status_code=status_code)
    return Response(content, status_code=status_code, media_type="application/json")
