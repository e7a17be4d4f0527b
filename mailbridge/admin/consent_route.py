"""The consent routes for delegated Graph mailboxes (consent.py says the flow):

- POST /api/v1/mailboxes/{id}/consent {"redirect_uri"}: the authorize URL to send the user's browser to
  (authenticated: the mailbox's user or an admin);
- GET /api/v1/mailbox-consent/callback?code=...&state=...: where Entra ID sends the browser back. It carries no
  CRM token by design (a browser redirect cannot): the sealed, expiring state is its authority."""

import uuid
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from crm_core.api.deps import CallerDep, ContextDep
from crm_core.errors import ValidationFailed
from mailbridge.admin.consent import complete_consent, consent_url

router = APIRouter()


class ConsentRequest(BaseModel):
    redirect_uri: str = Field(max_length=500, description="Where Entra ID sends the browser back: this CRM's "
                              "/api/v1/mailbox-consent/callback, as registered on the app.")


class ConsentUrl(BaseModel):
    authorization_url: str


class ConsentDone(BaseModel):
    mailbox_id: uuid.UUID
    message: str


@router.post("/mailboxes/{record_id}/consent", response_model=ConsentUrl, tags=["mailboxes"],
             summary="Start a user's consent for a delegated Microsoft Graph mailbox: the URL to open")
def start_consent(caller: CallerDep, record_id: uuid.UUID, body: ConsentRequest) -> Any:
    return ConsentUrl(authorization_url=consent_url(caller.uow, caller.principal, record_id, body.redirect_uri))


# Out of the OpenAPI document, where every operation takes a bearer token: a browser redirect cannot carry one.
@router.get("/mailbox-consent/callback", response_model=ConsentDone, tags=["mailboxes"], include_in_schema=False,
            summary="Entra ID's redirect after the user consented (no CRM token: the sealed state authorises it)")
def consent_callback(ctx: ContextDep, state: str, code: str | None = None, error: str | None = None,
                     error_description: str | None = None) -> Any:
    if error is not None or not code:
        why = (error_description or error or "no authorization code").splitlines()[0][:300]
        raise ValidationFailed.field("code", f"the consent was not given: {why}")
    mailbox_id = complete_consent(ctx.session_factory, code, state)
    return ConsentDone(mailbox_id=mailbox_id, message="consent recorded: the mailbox may sync")
