"""A user's consent for delegated Graph access (Exchange Online), by the authorization code flow.

1. The mailbox's user (or an admin) asks for the consent URL: `consent_url` checks the mailbox is on a delegated
   Graph profile and that the caller may change it, and returns Entra ID's authorize URL. Its `state` is sealed
   with the CRM's secret key (crm_core.security.secrets): it names the mailbox, the redirect URI and an expiry,
   and cannot be forged or replayed after ten minutes.
2. Entra ID sends the browser back to the redirect URI with a code and the state; `complete_consent` opens the
   state, redeems the code for a refresh token and stores it sealed on the mailbox (a mailbox stopped for a
   revoked consent may sync again). The callback carries no CRM session: the sealed state is its authority."""

import json
import secrets as random_secrets
import ssl
import time
import uuid

from sqlalchemy.orm import Session, sessionmaker

from crm_core.db.unit_of_work import UnitOfWork
from crm_core.errors import ValidationFailed
from crm_core.models import Mailbox
from crm_core.security.principal import Principal
from crm_core.security.secrets import SecretUnavailable, keyring_of
from crm_core.services.email_server_profiles import check_url
from crm_core.services.mailboxes import MailboxService, connection_of, store_refresh_token
from mailbridge.sources.graph.auth import authorization_url, redeem_code
from mailbridge.sources.graph.settings import GraphSettings

STATE_CONTEXT = "graph_consent_state"
STATE_LIFETIME = 600.0  # seconds for the user to consent


def consent_url(uow: UnitOfWork, principal: Principal, mailbox_id: uuid.UUID, redirect_uri: str, *,
                ssl_context: ssl.SSLContext | None = None) -> str:
    redirect_uri = check_url("redirect_uri", redirect_uri) or ""
    service = MailboxService(uow, principal)
    connection = service.connection(mailbox_id)  # the mailbox's user or an admin only
    if connection.protocol != "graph" or connection.exchange is None or connection.exchange.auth_type != "delegated":
        raise ValidationFailed.field("mailbox", "consent is for a mailbox on a delegated Microsoft Graph profile")
    state = keyring_of(uow.session).seal(json.dumps({
        "mailbox": str(mailbox_id), "redirect_uri": redirect_uri, "expires": time.time() + STATE_LIFETIME,
        "nonce": random_secrets.token_urlsafe(16)}), STATE_CONTEXT)
    uow.rollback()  # nothing written; no transaction stays open while Entra ID answers
    return authorization_url(GraphSettings.of_connection(connection, ssl_context=ssl_context), redirect_uri, state,
                             login_hint=connection.email_address)


def complete_consent(session_factory: sessionmaker[Session], code: str, state: str, *,
                     ssl_context: ssl.SSLContext | None = None) -> uuid.UUID:
    """Stores the consent the browser brought back; returns the mailbox's id. ValidationFailed ("state") for a
    state that is forged, of another key, or expired."""
    with UnitOfWork(session_factory) as uow:
        try:
            claims = json.loads(keyring_of(uow.session).open(state, STATE_CONTEXT))
        except (SecretUnavailable, ValueError):
            raise ValidationFailed.field("state", "not a consent request of this CRM") from None
        if not isinstance(claims, dict) or float(claims.get("expires", 0)) < time.time():
            raise ValidationFailed.field("state", "the consent request expired: ask for a new consent URL")
        mailbox_id = uuid.UUID(str(claims["mailbox"]))
        mailbox = uow.session.get(Mailbox, mailbox_id)
        if mailbox is None:
            raise ValidationFailed.field("state", "the mailbox of this consent request no longer exists")
        settings = GraphSettings.of_connection(connection_of(uow.session, mailbox), ssl_context=ssl_context)
        uow.rollback()
    refresh_token = redeem_code(settings, code, str(claims["redirect_uri"]))
    with UnitOfWork(session_factory) as uow:
        uow.set_action("consent")
        store_refresh_token(uow.session, mailbox_id, refresh_token)
        uow.commit()
    return mailbox_id
