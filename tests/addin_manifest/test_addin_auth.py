"""The add-in's sign-in (addin_manifest.auth): Entra ID access tokens signed by a test key that a local signing-key
endpoint publishes as Entra ID does (the tenant's v2.0 OpenID configuration and its jwks_uri). A good token
reaches /addin/api/whoami as the CRM user linked to its tenant and object id; every bad one gets a 401 problem
saying why, with a WWW-Authenticate header."""

import json
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm
from typer.testing import CliRunner

from addin_manifest.auth.keys import SigningKeys
from addin_manifest.auth.principal import AddinAuth, principal_for
from addin_manifest.auth.tokens import TokenValidator
from tests.api import problem
from tests.org import OrgBuilder, TestUser

CLIENT_ID = "0d9b7c7e-3a52-4c61-9d0a-6f1e2b3c4d5e"
TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
OTHER_TENANT = "f8cdef31-a31e-4b4a-93e4-5f571e91255a"
OID = "6e2a4c1b-0f3d-4e5a-8b7c-9d0e1f2a3b4c"
WHOAMI = "/addin/api/whoami"


def _new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@dataclass
class FakeEntraKeys:
    """Serves /{tenant}/v2.0/.well-known/openid-configuration and /{tenant}/discovery/v2.0/keys; counts key
    fetches. `published` holds each tenant's public keys by kid; sign() makes tokens as Entra ID would."""

    url: str = ""
    published: dict[str, dict[str, rsa.RSAPrivateKey]] = field(default_factory=dict)
    key_fetches: int = 0

    def sign(self, key: rsa.RSAPrivateKey | None = None, kid: str = "key-1", tenant: str = TENANT,
             **overrides: Any) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {
            "aud": CLIENT_ID, "iss": f"{self.url}/{tenant}/v2.0", "tid": tenant, "oid": OID,
            "iat": now - 10, "nbf": now - 10, "exp": now + 3600, "scp": "access_as_user",
            "name": "Rita Rep", "preferred_username": "rita@contoso.example", "ver": "2.0",
            "azp": str(uuid.uuid4()), "sub": "pairwise-subject",
        }
        claims.update(overrides)
        claims = {k: v for k, v in claims.items() if v is not None}
        signer = key if key is not None else self.published[TENANT][kid]
        return jwt.encode(claims, signer, algorithm="RS256", headers={"kid": kid})



@pytest.fixture
def entra() -> Iterator[FakeEntraKeys]:
    fake = FakeEntraKeys(published={TENANT: {"key-1": _new_key()}, OTHER_TENANT: {"key-1": _new_key()}})

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            parts = self.path.strip("/").split("/")
            tenant = parts[0]
            if tenant not in fake.published:
                self.send_error(400)
                return
            if parts[1:] == ["v2.0", ".well-known", "openid-configuration"]:
                body = {"issuer": f"{fake.url}/{tenant}/v2.0", "jwks_uri": f"{fake.url}/{tenant}/discovery/v2.0/keys"}
            elif parts[1:] == ["discovery", "v2.0", "keys"]:
                fake.key_fetches += 1
                body = {"keys": [{**RSAAlgorithm.to_jwk(k.public_key(), as_dict=True), "kid": kid, "use": "sig"}
                                 for kid, k in fake.published[tenant].items()]}
            else:
                self.send_error(404)
                return
            data = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield fake
    server.shutdown()
    server.server_close()


@pytest.fixture
def addin(client: Any, entra: FakeEntraKeys) -> Iterator[SigningKeys]:
    """The app signs the add-in in against the fake tenant's keys, for TENANT only."""
    keys = SigningKeys(authority_url=entra.url, min_refetch=0.0)
    client.app.state.addin_auth = AddinAuth(TokenValidator(CLIENT_ID, (TENANT,), keys), dev_tokens=False)
    yield keys
    del client.app.state.addin_auth
    keys.close()


@pytest.fixture
def rita(client: Any, org: OrgBuilder) -> TestUser:
    """A Salesperson linked, by the admin through the users API, to her Entra ID account."""
    admin = org.admin()
    rep = org.user("rita@example.com", ["Salesperson"])
    r = client.patch(f"/api/v1/users/{rep.id}", json={"entra_tenant_id": TENANT.upper(), "entra_object_id": OID},
                     headers=admin.headers)
    assert r.status_code == 200, r.text
    assert (r.json()["entra_tenant_id"], r.json()["entra_object_id"]) == (TENANT, OID)
    return rep


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_a_good_token_signs_in_as_the_linked_user_with_his_roles(client, addin, entra, rita) -> None:
    r = client.get(WHOAMI, headers=_bearer(entra.sign()))
    assert r.status_code == 200, r.text
    assert r.json()["id"] == str(rita.id)
    assert r.json()["email"] == "rita@example.com"
    # His rights are his roles', as with his API token.
    claims = TokenValidator(CLIENT_ID, (TENANT,), addin).validate(entra.sign())
    assert (claims.tenant_id, claims.object_id, claims.username) == (TENANT, OID, "rita@contoso.example")
    with client.app.state.crm.session_factory() as session:
        principal = principal_for(session, claims, client.app.state.crm)
    assert principal.user_id == rita.id
    assert principal.role_names == ("Salesperson",)


@pytest.mark.parametrize(("case", "make", "says"), [
    ("forged", lambda e: e.sign(key=_new_key()), "signature"),
    ("expired", lambda e: e.sign(exp=int(time.time()) - 600), "expired"),
    ("not yet valid", lambda e: e.sign(nbf=int(time.time()) + 600), "not valid yet"),
    ("wrong audience", lambda e: e.sign(aud=str(uuid.uuid4())), "aud must be"),
    ("api:// audience", lambda e: e.sign(aud=f"api://crm.example/{CLIENT_ID}"), "aud must be"),
    ("issuer of another tenant", lambda e: e.sign(iss=f"{e.url}/{OTHER_TENANT}/v2.0"), "own tenant"),
    ("v1 issuer", lambda e: e.sign(iss=f"https://sts.windows.net/{TENANT}/"), "own tenant"),
    ("tenant not allowed", lambda e: e.sign(key=e.published[OTHER_TENANT]["key-1"], tenant=OTHER_TENANT),
     "may not use this add-in"),
    ("scope-less", lambda e: e.sign(scp=None, roles=["Mail.Read"]), "access_as_user"),
    ("other scope", lambda e: e.sign(scp="User.Read"), "access_as_user"),
    ("no object id", lambda e: e.sign(oid=None), "oid"),
    ("unknown key id", lambda e: e.sign(key=_new_key(), kid="key-9"), "does not publish"),
    ("not a JWT", lambda e: "crm_not-in-dev-mode", "not a JWT"),
    ("HS256", lambda e: jwt.encode({"tid": TENANT}, "secret-secret-secret-secret-secret", algorithm="HS256",
                                   headers={"kid": "key-1"}), "RS256"),
])
def test_bad_tokens_get_401_saying_why(client, addin, entra, rita, case, make, says) -> None:
    r = client.get(WHOAMI, headers=_bearer(make(entra)))
    body = problem(r, 401)
    assert says in body["detail"], (case, body)
    assert r.headers["WWW-Authenticate"].startswith("Bearer")


def test_no_token_gets_401(client, addin) -> None:
    r = client.get(WHOAMI)
    assert "Entra ID access token" in problem(r, 401)["detail"]
    assert r.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_valid_token_of_an_unlinked_user_gets_401(client, addin, entra, rita) -> None:
    r = client.get(WHOAMI, headers=_bearer(entra.sign(oid=str(uuid.uuid4()), preferred_username="eve@contoso.ex")))
    body = problem(r, 401)
    assert "eve@contoso.ex" in body["detail"] and "not linked" in body["detail"]


def test_a_disabled_user_is_refused_on_the_next_call(client, addin, entra, rita, org) -> None:
    token = entra.sign()
    assert client.get(WHOAMI, headers=_bearer(token)).status_code == 200
    admin = org.admin("boss@example.com")
    assert client.post(f"/api/v1/users/{rita.id}/disable", headers=admin.headers).status_code == 200
    problem(client.get(WHOAMI, headers=_bearer(token)), 401)


def test_a_rotated_key_is_fetched_when_a_token_names_it(client, addin, entra, rita) -> None:
    assert client.get(WHOAMI, headers=_bearer(entra.sign())).status_code == 200
    assert client.get(WHOAMI, headers=_bearer(entra.sign())).status_code == 200
    assert entra.key_fetches == 1  # cached
    entra.published[TENANT]["key-2"] = _new_key()  # Entra rolls over: a new key signs from now on
    r = client.get(WHOAMI, headers=_bearer(entra.sign(kid="key-2")))
    assert r.status_code == 200, r.text
    assert entra.key_fetches == 2


def test_an_unknown_key_id_does_not_refetch_within_the_minute(entra) -> None:
    keys = SigningKeys(authority_url=entra.url)  # the production pace: one refetch a minute at most
    validator = TokenValidator(CLIENT_ID, (TENANT,), keys)
    validator.validate(entra.sign())
    for _ in range(3):
        with pytest.raises(Exception, match="does not publish"):
            validator.validate(entra.sign(key=_new_key(), kid=f"made-up-{uuid.uuid4()}"))
    assert entra.key_fetches == 1
    keys.close()


def test_unreachable_keys_are_a_503_not_a_401(client, rita) -> None:
    keys = SigningKeys(authority_url="http://127.0.0.1:9")  # discard port: nothing listens
    client.app.state.addin_auth = AddinAuth(TokenValidator(CLIENT_ID, (TENANT,), keys), dev_tokens=False)
    try:
        token = jwt.encode({"tid": TENANT}, _new_key(), algorithm="RS256", headers={"kid": "key-1"})
        problem(client.get(WHOAMI, headers=_bearer(token)), 503)
    finally:
        del client.app.state.addin_auth
        keys.close()


def test_dev_mode_accepts_crm_tokens_and_is_off_by_default(client, org) -> None:
    rep = org.user("dev@example.com", ["Salesperson"])
    # Default settings: no Entra app, no dev tokens: a CRM token is refused.
    assert not client.app.state.crm.settings.addin_dev_tokens
    problem(client.get(WHOAMI, headers=rep.headers), 401)
    client.app.state.addin_auth = AddinAuth(validator=None, dev_tokens=True)
    try:
        r = client.get(WHOAMI, headers=rep.headers)
        assert r.status_code == 200, r.text
        assert r.json()["id"] == str(rep.id)
        problem(client.get(WHOAMI, headers=_bearer("crm_forged")), 401)
    finally:
        del client.app.state.addin_auth


def test_an_entra_account_links_one_user_only_and_needs_both_ids(client, org, rita) -> None:
    admin = org.admin("boss@example.com")
    other = org.user("other@example.com", ["Salesperson"])
    r = client.patch(f"/api/v1/users/{other.id}", json={"entra_tenant_id": TENANT, "entra_object_id": OID},
                     headers=admin.headers)
    assert "rita@example.com" in problem(r, 409)["detail"]
    r = client.patch(f"/api/v1/users/{other.id}", json={"entra_tenant_id": TENANT}, headers=admin.headers)
    problem(r, 422, "entra_object_id")
    r = client.patch(f"/api/v1/users/{rita.id}", json={"entra_tenant_id": None, "entra_object_id": None},
                     headers=admin.headers)
    assert r.status_code == 200 and r.json()["entra_object_id"] is None
    r = client.patch(f"/api/v1/users/{rita.id}", headers=rita.headers, json={"entra_tenant_id": OTHER_TENANT,
                                                                              "entra_object_id": OID})
    assert r.status_code == 403, r.text  # a Salesperson does not link accounts, not even his own


def test_cli_creates_a_user_linked_to_his_entra_account(client, org, migrated, tmp_path, monkeypatch) -> None:
    from workers.cli import app

    monkeypatch.setenv("CRM_DATABASE_URL", migrated)
    monkeypatch.setenv("CRM_DATA_DIR", str(tmp_path / "var"))
    runner = CliRunner()
    r = runner.invoke(app, ["user", "create", "--email", "cli@example.com", "--name", "Cli Rep",
                            "--entra-tenant-id", TENANT, "--entra-object-id", OID])
    assert r.exit_code == 0, r.output
    admin = org.admin("boss@example.com")
    found = client.get("/api/v1/users", params={"email": "cli@example.com"}, headers=admin.headers).json()
    rows = found.get("items", found.get("value", found)) if isinstance(found, dict) else found
    assert [(u["entra_tenant_id"], u["entra_object_id"]) for u in rows] == [(TENANT, OID)]
    r = runner.invoke(app, ["user", "create", "--email", "cli2@example.com", "--name", "Cli Two",
                            "--entra-tenant-id", "not-a-guid", "--entra-object-id", OID])
    assert r.exit_code != 0 and "not a GUID" in r.output
