"""The on-behalf-of flow: the add-in's Entra ID token exchanged (msal) for a Microsoft Graph token of the same
user, so that the server reads the mail or meeting in view with the user's own rights.

Exchange then decides what he may read: his own mailbox, a shared one or a delegator's only where he has been
given access (Mail.Read.Shared, Calendars.Read.Shared). The app registration is the add-in's
(CRM_ENTRA_CLIENT_ID with CRM_ENTRA_CLIENT_SECRET); msal caches the Graph token per assertion, so the pane's
next calls within the hour do not ask Entra ID again."""

import ssl
from dataclasses import dataclass, field
from typing import Any

import msal
import requests

from crm_core.errors import CrmError
from crm_core.models.mailboxes import ENTRA_URL, GRAPH_URL
from mailbridge.errors import AuthenticationFailed, ConnectionFailed, TemporaryFailure
from mailbridge.sources.graph import GraphSettings
from mailbridge.sources.graph.auth import application
from mailbridge.sources.graph.client import GraphClient

GRAPH_RESOURCE = "https://graph.microsoft.com"
MAIL_SCOPES = (f"{GRAPH_RESOURCE}/Mail.Read", f"{GRAPH_RESOURCE}/Mail.Read.Shared")
CALENDAR_SCOPES = (f"{GRAPH_RESOURCE}/Calendars.Read", f"{GRAPH_RESOURCE}/Calendars.Read.Shared")
CONSENT_CODES = {65001, 65004, 50076, 50079, 50158}  # consent missing or declined; MFA or a claims challenge


class ConsentRequired(CrmError):
    """The user (or his administrator) has not consented to the add-in reading his mail through Graph: the pane
    asks him to sign in again with consent, which an API cannot do for him."""

    status = 403
    title = "Consent required"


@dataclass
class OnBehalfOf:
    client_id: str
    client_secret: str = field(repr=False)
    authority_url: str = ENTRA_URL
    graph_url: str = GRAPH_URL
    ssl_context: ssl.SSLContext | None = field(default=None, repr=False)
    timeout: float = 30.0

    def graph(self, assertion: str, tenant_id: str, user: str, scopes: tuple[str, ...] = MAIL_SCOPES) -> GraphClient:
        """A Graph client for `user`'s mailbox ("me", or the address of a mailbox shared with him), acting as
        the user whose add-in token `assertion` is."""
        settings = GraphSettings(user=user, tenant_id=tenant_id, client_id=self.client_id,
                                 client_secret=self.client_secret, graph_url=self.graph_url.rstrip("/"),
                                 authority_url=self.authority_url, timeout=self.timeout,
                                 ssl_context=self.ssl_context)
        return GraphClient(settings, tokens=_OboTokens(application(settings), assertion, scopes))  # type: ignore[arg-type]


class _OboTokens:
    """What GraphClient asks of its TokenProvider (token, refreshed), from the on-behalf-of grant."""

    def __init__(self, app: msal.ConfidentialClientApplication, assertion: str, scopes: tuple[str, ...]) -> None:
        self._app, self._assertion, self._scopes = app, assertion, list(scopes)
        self._token: str | None = None

    def token(self) -> str:
        if self._token is None:
            self._token = self._acquire()
        return self._token

    def refreshed(self, stale: str) -> str:
        # Graph refused the token: drop msal's cached copy and ask Entra ID once more.
        for entry in self._app.token_cache.search(msal.TokenCache.CredentialType.ACCESS_TOKEN):
            if entry.get("secret") == stale:
                self._app.token_cache.remove_at(entry)
        self._token = self._acquire()
        return self._token

    def _acquire(self) -> str:
        try:
            result: dict[str, Any] = self._app.acquire_token_on_behalf_of(self._assertion, self._scopes)
        except requests.RequestException as exc:
            raise ConnectionFailed(f"Entra ID could not be reached: {exc}") from None
        if "access_token" in result:
            return str(result["access_token"])
        error = str(result.get("error", "unknown"))
        description = str(result.get("error_description") or error).splitlines()[0]
        if set(result.get("error_codes") or []) & CONSENT_CODES or error == "interaction_required":
            raise ConsentRequired(f"Entra ID needs the user's consent for the add-in to read his mail: {description}")
        if error in ("temporarily_unavailable", "server_error"):
            raise TemporaryFailure(f"Entra ID is unavailable ({description})")
        raise AuthenticationFailed(f"Entra ID refused the on-behalf-of exchange ({description})", reason="auth")
