"""`AddinCallerDep`: the add-in endpoints' caller, as crm_core.api.deps.CallerDep is the REST API's.

The bearer token is an Entra ID access token (addin_manifest.auth.tokens); its tenant and object id name the
CRM user (never his email). His Principal is cached per process under that pair and the security epoch, as
crm_core.api.auth caches API tokens, so a disabled user or a changed role counts on the very next call. With
CRM_ADDIN_DEV_TOKENS a CRM API token (`crm_...`) is accepted as well, for development without a tenant."""

import ssl
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import select
from sqlalchemy.orm import Session

from addin_manifest.auth.keys import SigningKeys
from addin_manifest.auth.obo import OnBehalfOf
from addin_manifest.auth.tokens import EntraClaims, InvalidEntraToken, TokenValidator
from crm_core.api.auth import authenticate
from crm_core.api.deps import ApiContext, BearerDep, ContextDep
from crm_core.db.unit_of_work import UnitOfWork
from crm_core.errors import NotAuthenticated
from crm_core.models import User
from crm_core.security import epoch
from crm_core.security import tokens as crm_tokens
from crm_core.security.principal import Principal, load_principal


@dataclass
class AddinAuth:
    """What the add-in's sign-in needs for the life of the app: the token checks and the tenants' keys.
    workers.app may set one on app.state.addin_auth; otherwise the first request builds it from settings."""

    validator: TokenValidator | None  # None: no Entra app registered (CRM_ENTRA_CLIENT_ID unset)
    dev_tokens: bool
    # The on-behalf-of exchange to Graph; None without the app's secret (mail is then read with the mailbox's
    # own connection).
    obo: OnBehalfOf | None = None
    # Whom the server trusts when it reads a mailbox for the add-in (a private CA in tests); None: the system's.
    ssl_context: ssl.SSLContext | None = field(default=None, repr=False)

    @classmethod
    def from_settings(cls, ctx: ApiContext, keys: SigningKeys | None = None) -> "AddinAuth":
        s = ctx.settings
        validator = None if not s.entra_client_id else TokenValidator(
            client_id=s.entra_client_id, tenants=tuple(s.addin_tenants), keys=keys or SigningKeys())
        secret = s.entra_client_secret.get_secret_value()
        obo = OnBehalfOf(s.entra_client_id, secret) if s.entra_client_id and secret else None
        return cls(validator, s.addin_dev_tokens, obo)


@dataclass
class AddinCaller:
    uow: UnitOfWork
    principal: Principal
    context: ApiContext
    claims: EntraClaims | None  # None when signed in with a CRM API token (development mode)
    auth: AddinAuth
    token: str = field(repr=False)  # the bearer token itself: the on-behalf-of flow's assertion


def addin_auth(request: Request, ctx: ApiContext) -> AddinAuth:
    auth: AddinAuth | None = getattr(request.app.state, "addin_auth", None)
    if auth is None:
        auth = request.app.state.addin_auth = AddinAuth.from_settings(ctx)
    return auth


def principal_for(session: Session, claims: EntraClaims, ctx: ApiContext) -> Principal:
    key = f"entra:{claims.tenant_id}:{claims.object_id}"  # cannot collide with a token digest (hex)
    current = epoch.current(session)
    if current is not None and (hit := ctx.principals.get(key, current)) is not None:
        return hit[1]  # the token itself was checked just now; the cache only vouches for the user's rights
    user_id = session.scalar(select(User.id).where(User.entra_tenant_id == claims.tenant_id,
                                                   User.entra_object_id == claims.object_id))
    if user_id is None:
        who = claims.username or claims.name or "this account"
        raise InvalidEntraToken(f"{who} (object id {claims.object_id} in tenant {claims.tenant_id}) is not linked "
                                "to a CRM user; an administrator sets entra_tenant_id and entra_object_id on "
                                "the user")
    principal = load_principal(session, user_id)
    if current is not None:
        ctx.principals.put(key, current, claims.expires_on, principal)
    return principal


def addin_caller(request: Request, ctx: ContextDep, credentials: BearerDep) -> Iterator[AddinCaller]:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise NotAuthenticated("sign in through the add-in: send an Entra ID access token as "
                               "`Authorization: Bearer <token>`")
    auth = addin_auth(request, ctx)
    token = credentials.credentials
    dev = auth.dev_tokens and token.startswith(crm_tokens.PREFIX)
    if not dev and auth.validator is None:
        raise NotAuthenticated("the add-in's sign-in is not configured on this server (CRM_ENTRA_CLIENT_ID)")
    claims = None if dev or auth.validator is None else auth.validator.validate(token)  # before any database work
    with UnitOfWork(ctx.session_factory) as uow:
        if claims is None:
            principal = authenticate(uow.session, token, ctx.principals)
        else:
            principal = principal_for(uow.session, claims, ctx)
        uow.actor_id = principal.user_id
        uow.session.info["actor_id"] = principal.user_id
        yield AddinCaller(uow, principal, ctx, claims, auth, token)


AddinCallerDep = Annotated[AddinCaller, Depends(addin_caller)]
