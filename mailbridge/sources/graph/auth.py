"""Access tokens for Graph through msal: client credentials (the app's secret, or a certificate whose key
signs the assertion) for application access, or the user's refresh token for delegated access. msal keeps the
tokens in its in-memory cache and hands back a cached one until shortly before it expires, so asking for a
token before every request costs nothing. `refreshed()` drops the cached token after Graph refused it (401).

Entra ID's refusals become our errors with a reason an admin can act on: "consent_revoked" (the user or the
admin withdrew consent, or the refresh token expired: the mailbox stops until consent is given again),
"auth" (a wrong secret or certificate, an unknown app), "temporary" (Entra ID itself is busy)."""

import hashlib
import ssl
import threading
import warnings
from collections.abc import Callable
from typing import Any

import msal
import requests
from requests.adapters import HTTPAdapter

from mailbridge.errors import AuthenticationFailed, ConnectionFailed, TemporaryFailure
from mailbridge.sources.graph.settings import DELEGATED_SCOPES, GRAPH_SCOPE, GraphSettings

# Entra ID error codes meaning "no consent any more": missing or revoked consent, an expired or revoked refresh
# token, a user who must sign in again. Retrying will not help; an admin or the user must act.
CONSENT_CODES = frozenset({65001, 65004, 50173, 700082, 70000, 70008, 50076, 50079, 50078, 500011})


class _ContextAdapter(HTTPAdapter):
    """requests verifying against a given SSL context (a private CA), as msal's http_client needs."""

    def __init__(self, context: ssl.SSLContext) -> None:
        self._context = context
        super().__init__()

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        kwargs["ssl_context"] = self._context
        super().init_poolmanager(*args, **kwargs)


def http_session(context: ssl.SSLContext | None) -> requests.Session:
    session = requests.Session()
    if context is not None:
        session.mount("https://", _ContextAdapter(context))
        session.trust_env = False  # REQUESTS_CA_BUNDLE would otherwise override the context given
    return session


_applications: dict[tuple[str, str, str, int], tuple[msal.ConfidentialClientApplication, object]] = {}
_applications_lock = threading.Lock()


def application(settings: GraphSettings) -> msal.ConfidentialClientApplication:
    """The app registration as msal's client: one per process for the same authority, app and credential, so
    that its token cache serves every mailbox and every pass (Entra ID is asked again only when the token
    nears its expiry, not on each sync)."""
    credential: Any = ({"private_key": settings.client_certificate,
                        "thumbprint": settings.client_certificate_thumbprint or ""}
                       if settings.client_certificate else settings.client_secret)
    if not credential:
        raise AuthenticationFailed("the app registration has neither a client secret nor a certificate",
                                   reason="credentials")
    fingerprint = hashlib.sha256(repr(credential).encode()).hexdigest()
    key = (settings.authority, settings.client_id, fingerprint, id(settings.ssl_context))
    with _applications_lock:
        known = _applications.get(key)
        if known is not None:
            return known[0]
        http = http_session(settings.ssl_context)
        try:
            app = msal.ConfidentialClientApplication(
                settings.client_id, client_credential=credential, authority=settings.authority,
                http_client=http, instance_discovery=False, timeout=settings.timeout)
        except ValueError as exc:  # msal reads the authority's discovery document on construction
            http.close()
            raise AuthenticationFailed(f"Entra ID refused the authority {settings.authority}: {exc}",
                                       reason="auth") from None
        except requests.RequestException as exc:
            http.close()
            raise ConnectionFailed(f"Entra ID at {settings.authority_url} could not be reached: {exc}") from None
        # The context is kept alive with the app, so that its id in the key cannot be reused by another one.
        _applications[key] = (app, settings.ssl_context)
        return app


class TokenProvider:
    """One mailbox's tokens. `on_refresh_token` receives a rotated refresh token (delegated), to be stored."""

    def __init__(self, settings: GraphSettings, on_refresh_token: Callable[[str], None] | None = None) -> None:
        self.settings = settings
        self.on_refresh_token = on_refresh_token
        self._lock = threading.Lock()
        self._token: str | None = None
        self._refresh = settings.refresh_token
        self._app = application(settings)

    def token(self) -> str:
        with self._lock:
            if self._token is None:
                self._token = self._acquire()
            return self._token

    def refreshed(self, stale: str) -> str:
        """A new token after Graph refused `stale` (another thread may have renewed it already)."""
        with self._lock:
            if self._token == stale or self._token is None:
                self._token = self._acquire(force=True)
            return self._token

    def _acquire(self, force: bool = False) -> str:
        try:
            if self.settings.auth_type == "delegated":
                result = self._delegated()
            else:
                if force:  # the cached token was refused: drop it so msal asks Entra ID again
                    for entry in self._app.token_cache.search(msal.TokenCache.CredentialType.ACCESS_TOKEN):
                        self._app.token_cache.remove_at(entry)
                result = self._app.acquire_token_for_client(scopes=[GRAPH_SCOPE])
        except requests.RequestException as exc:
            raise ConnectionFailed(f"Entra ID could not be reached: {exc}") from None
        return self._token_of(result)

    def _delegated(self) -> dict[str, Any]:
        if not self._refresh:
            raise AuthenticationFailed("the mailbox's user has not consented (no refresh token)",
                                       reason="consent_revoked")
        result: dict[str, Any] = self._app.acquire_token_by_refresh_token(self._refresh, list(DELEGATED_SCOPES))
        rotated = result.get("refresh_token")
        if rotated and rotated != self._refresh:
            self._refresh = rotated
            if self.on_refresh_token is not None:
                self.on_refresh_token(rotated)
        return result

    def _token_of(self, result: dict[str, Any]) -> str:
        if "access_token" in result:
            return str(result["access_token"])
        error = str(result.get("error", "unknown"))
        codes = set(result.get("error_codes") or [])
        description = str(result.get("error_description") or error).splitlines()[0]
        if codes & CONSENT_CODES or (error == "invalid_grant" and self.settings.auth_type == "delegated"):
            raise AuthenticationFailed(f"Entra ID: consent is missing or was revoked ({description})",
                                       reason="consent_revoked")
        if error in ("temporarily_unavailable", "server_error"):
            raise TemporaryFailure(f"Entra ID is unavailable ({description})")
        raise AuthenticationFailed(f"Entra ID refused the app's credentials ({description})", reason="auth")


# --- a user's consent (delegated access): the authorization code flow ------------------------------------------
def authorization_url(settings: GraphSettings, redirect_uri: str, state: str, login_hint: str | None = None) -> str:
    """Where to send the user's browser to consent (Entra ID's authorize endpoint, with offline access so that
    a refresh token comes back)."""
    app = application(settings)
    with warnings.catch_warnings():
        # msal prefers its auth-code "flow" dict, which must be kept server-side between the two requests;
        # ours is a confidential client (the code is only redeemed with the app's secret or certificate)
        # and the request is bound by our sealed, expiring state instead.
        warnings.simplefilter("ignore", DeprecationWarning)
        return str(app.get_authorization_request_url(list(DELEGATED_SCOPES), state=state,
                                                     redirect_uri=redirect_uri, login_hint=login_hint))


def redeem_code(settings: GraphSettings, code: str, redirect_uri: str) -> str:
    """The refresh token Entra ID gives for the authorization code the browser brought back."""
    app = application(settings)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # see authorization_url
            result = app.acquire_token_by_authorization_code(code, list(DELEGATED_SCOPES),
                                                             redirect_uri=redirect_uri)
    except requests.RequestException as exc:
        raise ConnectionFailed(f"Entra ID could not be reached: {exc}") from None
    if "refresh_token" not in result:
        description = str(result.get("error_description") or result.get("error") or "no refresh token")
        raise AuthenticationFailed(f"Entra ID did not accept the consent ({description.splitlines()[0]})",
                                   reason="consent_revoked")
    return str(result["refresh_token"])
