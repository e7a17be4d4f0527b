"""The fake Entra ID tenant: app registrations, consent, the v2.0 OpenID configuration msal reads, the v2.0 token
endpoint (client credentials with a secret or a certificate assertion, refresh token, authorization code,
on-behalf-of) and the bearer check every Graph request goes through.

Access tokens look like JWTs (header.payload.signature, with aud, tid, appid, roles or scp, exp) but are only
valid because the fake remembers issuing them: Graph's answer depends on that record (expired -> 401
InvalidAuthenticationToken; the app's admin consent revoked since -> 403 ErrorAccessDenied). Errors are Entra's,
with the AADSTS codes its documentation gives."""

import base64
import json
import secrets
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from tests.fakes.graph.client_assertion import ASSERTION_TYPE, CertificateCredential
from tests.fakes.graph.replies import EntraError, GraphError, Reply

GRAPH_RESOURCE = "https://graph.microsoft.com"
APP_ROLES = ("Mail.ReadWrite", "Mail.Send")
TOKEN_LIFETIME = 3599
OIDC_SCOPES = {"openid", "profile", "offline_access", "email"}
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
_WWW_AUTH = ('Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", '
             'client_id="00000003-0000-0000-c000-000000000000"')


@dataclass
class FakeApp:
    client_id: str
    secret: str | None = field(default=None, repr=False)
    certificate_pem: bytes | None = field(default=None, repr=False)
    display_name: str = "mailcrm test app"
    admin_consent: bool = field(default=True, init=False)
    consent_epoch: int = field(default=0, init=False, repr=False)
    allowed_mailboxes: frozenset[str] | None = field(default=None, init=False)  # application access policy
    consented_users: set[str] = field(default_factory=set, init=False)
    credential: CertificateCredential | None = field(default=None, init=False, repr=False)


@dataclass
class Principal:
    """Who a Graph request acts as: the app alone (user None) or the app for a signed-in user."""

    app: FakeApp
    user: str | None
    scopes: tuple[str, ...]


@dataclass
class _Grant:
    app: FakeApp
    user: str | None
    scopes: tuple[str, ...]
    expires_at: float
    consent_epoch: int
    audience: str | None = None  # a token for an app's own API (not Graph): its client id


@dataclass
class _Refresh:
    app: FakeApp
    user: str
    scopes: tuple[str, ...]
    state: str = "valid"  # or "revoked", "expired"


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def _jwt_like(claims: dict[str, Any]) -> str:
    header = {"typ": "JWT", "alg": "RS256", "kid": "fake-graph-key"}
    return f"{_b64(header)}.{_b64(claims)}.{secrets.token_urlsafe(32)}"


def _missing(name: str) -> EntraError:
    return EntraError(400, "invalid_request", 900144, f"The request body must contain the following parameter: "
                                                      f"'{name}'.")


class Tenant:
    def __init__(self, base_url: str, lock: threading.RLock, user_id: Callable[[str], str | None]) -> None:
        self.base_url = base_url
        self.tenant_id = str(uuid.uuid4())
        self._lock = lock
        self._user_id = user_id  # address -> object id, None for an unknown user
        self.apps: dict[str, FakeApp] = {}
        self._access: dict[str, _Grant] = {}
        self._refresh: dict[str, _Refresh] = {}
        self._codes: dict[str, tuple[FakeApp, str, bool]] = {}  # code -> app, user, redeemed
        # The tenant's token signing key, published at the configuration's jwks_uri (tokens for an app's API).
        self._signing_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self._kid = secrets.token_hex(8)

    @property
    def token_endpoint(self) -> str:
        return f"{self.base_url}/{self.tenant_id}/oauth2/v2.0/token"

    # -- what tests arrange ----------------------------------------------------------------------------------
    def register_app(self, secret: str | None = None, certificate_pem: bytes | None = None) -> FakeApp:
        if secret is None and certificate_pem is None:
            raise ValueError("an app needs a secret or a certificate")
        app = FakeApp(str(uuid.uuid4()), secret, certificate_pem)
        if certificate_pem is not None:
            app.credential = CertificateCredential(certificate_pem)
        with self._lock:
            self.apps[app.client_id] = app
        return app

    def set_admin_consent(self, app: FakeApp, granted: bool) -> None:
        with self._lock:
            app.admin_consent = granted
            app.consent_epoch += 1  # tokens issued before no longer carry a consent that exists

    def grant_delegated(self, app: FakeApp, user: str) -> str:
        with self._lock:
            address = self._known_user(user)
            app.consented_users.add(address)
            return self._new_refresh(app, address, ("Mail.ReadWrite", "Mail.Send"))

    def revoke_delegated(self, app: FakeApp, user: str) -> None:
        with self._lock:
            app.consented_users.discard(user.lower())

    def authorization_code(self, app: FakeApp, user: str) -> str:
        """A code as the authorize endpoint would redirect with after the user signed in and consented."""
        with self._lock:
            address = self._known_user(user)
            app.consented_users.add(address)
            code = "1.A" + secrets.token_urlsafe(48)
            self._codes[code] = (app, address, False)
            return code

    def expire_access_tokens(self) -> None:
        with self._lock:
            for grant in self._access.values():
                grant.expires_at = min(grant.expires_at, time.time() - 1)

    def set_refresh_state(self, state: str, user: str | None = None) -> None:
        with self._lock:
            for token in self._refresh.values():
                if user is None or token.user == user.lower():
                    token.state = state

    def _known_user(self, user: str) -> str:
        if self._user_id(user.lower()) is None:
            raise KeyError(f"no mailbox {user!r}: add_mailbox() it first")
        return user.lower()

    def api_token(self, api: FakeApp, user: str, scopes: str = "access_as_user", lifetime: int = TOKEN_LIFETIME,
                  **claims: Any) -> str:
        """A v2.0 access token for `api`'s own API (aud: its client id), signed with the tenant's key, as a client
        such as an Office add-in gets it for the user; the on-behalf-of grant accepts it as the assertion."""
        with self._lock:
            user = self._known_user(user)
            now = int(time.time())
            body: dict[str, Any] = {
                "aud": api.client_id, "iss": f"{self.base_url}/{self.tenant_id}/v2.0", "iat": now, "nbf": now,
                "exp": now + lifetime, "tid": self.tenant_id, "oid": self._user_id(user), "scp": scopes,
                "preferred_username": user, "name": user.split("@")[0], "azp": str(uuid.uuid4()), "ver": "2.0",
                **claims}
            token = jwt.encode(body, self._signing_key, algorithm="RS256", headers={"kid": self._kid})
            self._access[token] = _Grant(api, user, tuple(scopes.split()), now + lifetime, api.consent_epoch,
                                         audience=api.client_id)
            return token

    def keys(self, tenant: str) -> Reply:
        if tenant != self.tenant_id:
            return EntraError(400, "invalid_tenant", 90002, f"Tenant '{tenant}' not found.").reply()
        jwk = {**RSAAlgorithm.to_jwk(self._signing_key.public_key(), as_dict=True), "kid": self._kid, "use": "sig",
               "x5t": self._kid, "issuer": f"{self.base_url}/{self.tenant_id}/v2.0"}
        return Reply(200, {"Content-Type": "application/json; charset=utf-8"}, json.dumps({"keys": [jwk]}).encode())

    # -- issuing ---------------------------------------------------------------------------------------------
    def _new_access(self, app: FakeApp, user: str | None, scopes: tuple[str, ...]) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {"aud": GRAPH_RESOURCE, "iss": f"https://sts.windows.net/{self.tenant_id}/",
                                  "iat": now, "nbf": now, "exp": now + TOKEN_LIFETIME, "appid": app.client_id,
                                  "tid": self.tenant_id, "ver": "1.0"}
        if user is None:
            claims["roles"] = list(APP_ROLES)
        else:
            claims.update({"scp": " ".join(scopes), "upn": user, "oid": self._user_id(user)})
        token = _jwt_like(claims)
        self._access[token] = _Grant(app, user, scopes, now + TOKEN_LIFETIME, app.consent_epoch)
        return token

    def _new_refresh(self, app: FakeApp, user: str, scopes: tuple[str, ...]) -> str:
        token = "1.AQ" + secrets.token_urlsafe(64)
        self._refresh[token] = _Refresh(app, user, scopes)
        return token

    def _delegated_reply(self, app: FakeApp, user: str, requested: list[str], form: dict[str, str]) -> dict:
        # Graph permission names, without the resource prefix; the OIDC ones shape the reply instead.
        named = (s.rsplit("/", 1)[-1] for s in requested if s.lower() not in OIDC_SCOPES)
        scopes = tuple(s for s in named if s != ".default") or APP_ROLES  # .default: what was consented
        payload: dict[str, Any] = {"token_type": "Bearer", "scope": " ".join(f"{GRAPH_RESOURCE}/{s}" for s in scopes),
                                   "expires_in": TOKEN_LIFETIME, "ext_expires_in": TOKEN_LIFETIME,
                                   "access_token": self._new_access(app, user, scopes)}
        lowered = {s.lower() for s in requested}
        if "offline_access" in lowered:
            payload["refresh_token"] = self._new_refresh(app, user, scopes)
        oid = self._user_id(user)
        if "openid" in lowered:
            now = int(time.time())
            payload["id_token"] = _jwt_like({
                "aud": app.client_id, "iss": f"{self.base_url}/{self.tenant_id}/v2.0", "iat": now, "nbf": now,
                "exp": now + TOKEN_LIFETIME, "name": user.split("@")[0], "oid": oid, "preferred_username": user,
                "sub": secrets.token_urlsafe(16), "tid": self.tenant_id, "ver": "2.0"})
        if form.get("client_info") == "1":
            payload["client_info"] = _b64({"uid": oid, "utid": self.tenant_id})
        return payload

    # -- the endpoints ---------------------------------------------------------------------------------------
    def openid_configuration(self, tenant: str) -> Reply:
        if tenant != self.tenant_id:
            return EntraError(400, "invalid_tenant", 90002, f"Tenant '{tenant}' not found. Check to make sure you "
                              "have the correct tenant ID and are signing into the correct cloud.").reply()
        root = f"{self.base_url}/{self.tenant_id}"
        config = {
            "token_endpoint": self.token_endpoint,
            "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
            "jwks_uri": f"{root}/discovery/v2.0/keys", "response_modes_supported": ["query", "fragment", "form_post"],
            "subject_types_supported": ["pairwise"], "id_token_signing_alg_values_supported": ["RS256"],
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"], "issuer": f"{root}/v2.0",
            "request_uri_parameter_supported": False, "userinfo_endpoint": f"{self.base_url}/oidc/userinfo",
            "authorization_endpoint": f"{root}/oauth2/v2.0/authorize",
            "device_authorization_endpoint": f"{root}/oauth2/v2.0/devicecode", "http_logout_supported": True,
            "frontchannel_logout_supported": True, "end_session_endpoint": f"{root}/oauth2/v2.0/logout",
            "claims_supported": ["sub", "iss", "aud", "exp", "iat", "nonce", "oid", "tid", "ver"],
            "tenant_region_scope": "EU", "cloud_instance_name": "microsoftonline.com",
            "cloud_graph_host_name": "graph.windows.net", "msgraph_host": "graph.microsoft.com"}
        return Reply(200, {"Content-Type": "application/json; charset=utf-8"}, json.dumps(config).encode())

    def token(self, tenant: str, form: dict[str, str]) -> Reply:
        try:
            with self._lock:
                payload = self._token(tenant, form)
        except EntraError as exc:
            return exc.reply()
        return Reply(200, {"Content-Type": "application/json; charset=utf-8", "Cache-Control": "no-store, no-cache",
                           "Pragma": "no-cache"}, json.dumps(payload).encode())

    def _client(self, form: dict[str, str]) -> FakeApp:
        client_id = form.get("client_id") or _raise(_missing("client_id"))
        app = self.apps.get(client_id)
        if app is None:
            raise EntraError(400, "unauthorized_client", 700016, f"Application with identifier '{client_id}' was not "
                             f"found in the directory '{self.tenant_id}'. This can happen if the application has not "
                             "been installed by the administrator of the tenant or consented to by any user in the "
                             "tenant. You may have sent your authentication request to the wrong tenant.")
        if form.get("client_assertion"):
            if form.get("client_assertion_type") != ASSERTION_TYPE:
                raise _missing("client_assertion_type")
            if app.credential is None:
                raise EntraError(401, "invalid_client", 700027, "Client assertion failed signature validation. "
                                 "No certificate is registered on the application.")
            app.credential.verify(form["client_assertion"], app.client_id, self.token_endpoint)
        elif form.get("client_secret") is not None:
            if app.secret is None or not secrets.compare_digest(form["client_secret"], app.secret):
                raise EntraError(401, "invalid_client", 7000215, "Invalid client secret provided. Ensure the secret "
                                 "being sent in the request is the client secret value, not the client secret ID, "
                                 f"for a secret added to app '{app.client_id}'.")
        else:
            raise EntraError(401, "invalid_client", 7000218, "The request body must contain the following "
                             "parameter: 'client_assertion' or 'client_secret'.")
        return app

    def _no_consent(self, app: FakeApp) -> EntraError:
        return EntraError(400, "invalid_grant", 65001, f"The user or administrator has not consented to use the "
                          f"application with ID '{app.client_id}' named '{app.display_name}'. Send an interactive "
                          "authorization request for this user and resource.")

    def _token(self, tenant: str, form: dict[str, str]) -> dict[str, Any]:
        if tenant != self.tenant_id:
            raise EntraError(400, "invalid_request", 90002, f"Tenant '{tenant}' not found. Check to make sure you "
                             "have the correct tenant ID and are signing into the correct cloud.")
        grant_type = form.get("grant_type") or _raise(_missing("grant_type"))
        known = ("client_credentials", "refresh_token", "authorization_code", JWT_BEARER)
        if grant_type not in known:
            raise EntraError(400, "unsupported_grant_type", 70003,
                             f"The app requested an unsupported grant type '{grant_type}'.")
        app = self._client(form)
        requested = (form.get("scope") or "").split()
        if grant_type == "client_credentials":
            if len(requested) != 1 or not requested[0].endswith("/.default"):
                raise EntraError(400, "invalid_scope", 1002012, f"The provided value for scope {' '.join(requested)} "
                                 "is not valid. Client credential flows must have a scope value with /.default "
                                 "suffixed to the resource identifier (application ID URI).")
            if not app.admin_consent:
                raise self._no_consent(app)
            return {"token_type": "Bearer", "expires_in": TOKEN_LIFETIME, "ext_expires_in": TOKEN_LIFETIME,
                    "access_token": self._new_access(app, None, APP_ROLES)}
        if grant_type == "refresh_token":
            return self._refresh_grant(app, form, requested)
        if grant_type == "authorization_code":
            code = form.get("code") or _raise(_missing("code"))
            entry = self._codes.get(code)
            if entry is None or entry[0] is not app:
                raise EntraError(400, "invalid_grant", 9002313, "Invalid request. Request is malformed or invalid.")
            if entry[2]:
                raise EntraError(400, "invalid_grant", 54005, "OAuth2 Authorization code was already redeemed, "
                                 "please retry with a new valid code or use an existing refresh token.")
            self._codes[code] = (app, entry[1], True)
            if entry[1] not in app.consented_users:
                raise self._no_consent(app)
            return self._delegated_reply(app, entry[1], requested, form)
        return self._on_behalf_of(app, form, requested)

    def _refresh_grant(self, app: FakeApp, form: dict[str, str], requested: list[str]) -> dict[str, Any]:
        token = form.get("refresh_token") or _raise(_missing("refresh_token"))
        entry = self._refresh.get(token)
        if entry is None or entry.app is not app:
            raise EntraError(400, "invalid_grant", 9002313, "Invalid request. Request is malformed or invalid.")
        if entry.state == "revoked":
            raise EntraError(400, "invalid_grant", 50173, "The provided grant has expired due to it being revoked, "
                             "a fresh auth token is needed. The user might have changed or reset their password.")
        if entry.state == "expired":
            raise EntraError(400, "invalid_grant", 700082, "The refresh token has expired due to inactivity. The "
                             "token was issued on a date and was inactive for 90.00:00:00.")
        if entry.user not in app.consented_users:
            raise self._no_consent(app)
        return self._delegated_reply(app, entry.user, requested, form)

    def _on_behalf_of(self, app: FakeApp, form: dict[str, str], requested: list[str]) -> dict[str, Any]:
        if form.get("requested_token_use") != "on_behalf_of":
            raise _missing("requested_token_use")
        assertion = form.get("assertion") or _raise(_missing("assertion"))
        grant = self._access.get(assertion)
        if grant is None or grant.user is None:
            raise EntraError(400, "invalid_grant", 50013, "Assertion failed signature validation.")
        if grant.audience is not None and grant.audience != app.client_id:
            raise EntraError(400, "invalid_grant", 50013, "Assertion failed signature validation. [Reason - The "
                             "assertion's audience does not match the client id of the requesting app.]")
        if grant.expires_at < time.time():
            raise EntraError(400, "invalid_grant", 500133, "Assertion is not within its valid time range.")
        if grant.user not in app.consented_users:
            raise self._no_consent(app)
        return self._delegated_reply(app, grant.user, requested, form)

    # -- Graph's side ----------------------------------------------------------------------------------------
    def authenticate(self, authorization: str | None) -> Principal:
        """The principal behind a Graph request's `Authorization: Bearer` header, or the error Graph answers."""
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise GraphError(401, "InvalidAuthenticationToken", "Access token is empty.",
                             {"WWW-Authenticate": _WWW_AUTH})
        with self._lock:
            grant = self._access.get(token.strip())
            if grant is None:
                raise GraphError(401, "InvalidAuthenticationToken", "IDX14100: JWT is not well formed.",
                                 {"WWW-Authenticate": _WWW_AUTH})
            if grant.expires_at < time.time():
                raise GraphError(401, "InvalidAuthenticationToken", "Lifetime validation failed, the token is "
                                 "expired.", {"WWW-Authenticate": _WWW_AUTH})
            if grant.audience is not None:
                raise GraphError(401, "InvalidAuthenticationToken", "Invalid audience.",
                                 {"WWW-Authenticate": _WWW_AUTH})
            if grant.user is None and (grant.consent_epoch != grant.app.consent_epoch or not grant.app.admin_consent):
                raise GraphError(403, "ErrorAccessDenied", "Access is denied. Check credentials and try again.")
            return Principal(grant.app, grant.user, grant.scopes)


def _raise(error: Exception) -> str:
    raise error
