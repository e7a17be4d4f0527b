"""Exchange email server profiles through the API: Graph (application or delegated) and EWS (basic, NTLM,
OAuth), what each needs before a mailbox may sync, app secrets and certificates sealed like passwords, and a
mailbox the server refused for good, stopped with its reason until its credentials change."""

import datetime as dt
import json
import uuid

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from crm_core.db.unit_of_work import UnitOfWork
from crm_core.models import EmailServerProfile, Mailbox
from crm_core.services.mailboxes import connection_of, stop_sync
from tests.api import created, problem
from tests.org import OrgBuilder, TestUser

P, M = "/api/v1/email-server-profiles", "/api/v1/mailboxes"
TENANT = "8f5a1c9e-2f41-4d0c-9a57-61f3b7b0c2de"
CLIENT = "5e2b7a10-93c4-4b8e-8d2f-0c6a1f9e3b74"
SECRET = "app-secret-Q8~x1"


def certificate_pem(key_type: str = "rsa", matching: bool = True) -> tuple[str, str]:
    """PEM text with a private key and a self-signed certificate (of another key unless `matching`), and the
    certificate's SHA-1 thumbprint as Entra ID shows it."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048) if key_type == "rsa" else \
        ec.generate_private_key(ec.SECP256R1())
    signer = key if matching else rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "crm-sync")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(signer.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now)
            .not_valid_after(now + dt.timedelta(days=1)).sign(signer, hashes.SHA256()))
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()) + cert.public_bytes(serialization.Encoding.PEM)
    return pem.decode(), cert.fingerprint(hashes.SHA1()).hex().upper()  # noqa: S303


def graph_profile(client, admin: TestUser, **body) -> dict:
    values = {"name": "Contoso Online", "incoming_protocol": "graph", "auth_type": "application",
              "tenant_id": TENANT, "client_id": CLIENT, "client_secret": SECRET}
    return created(client, admin, "email-server-profiles", {**values, **body})


def mailbox(client, admin: TestUser, profile: dict, user: TestUser, **body) -> dict:
    values = {"email_address": user.email, "regarding_type": "user", "regarding_id": str(user.id),
              "server_profile_id": profile["id"]}
    box = created(client, admin, "mailboxes", {**values, **body})
    r = client.post(f"{M}/{box['id']}/approve", headers=admin.headers)
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def test_a_graph_profile_with_an_app_secret_sends_through_graph_and_hides_its_secret(
        client, admin: TestUser, org: OrgBuilder, session_factory) -> None:
    profile = graph_profile(client, admin)
    assert (profile["service_url"], profile["outgoing_protocol"], profile["incoming_host"]) == (
        "https://graph.microsoft.com/v1.0", "graph", "graph.microsoft.com")
    assert (profile["has_client_secret"], profile["has_client_certificate"]) == (True, False)
    assert SECRET not in json.dumps(profile)
    rep = org.user("rep@contoso.example", ["Salesperson"])
    box = mailbox(client, admin, profile, rep)
    assert (box["may_sync"], box["outgoing_enabled"]) == (True, True)  # the app's secret is the credential
    with UnitOfWork(session_factory) as uow:
        connection = connection_of(uow.session, uow.session.get(Mailbox, uuid.UUID(box["id"])))
    assert connection.exchange is not None and connection.protocol == "graph"
    assert (connection.exchange.tenant_id, connection.exchange.client_secret) == (TENANT, SECRET)
    assert SECRET not in repr(connection)
    assert client.get(f"{P}/{profile['id']}/audit", headers=admin.headers).text.count(SECRET) == 0


def test_a_certificate_credential_is_checked_and_known_by_its_thumbprint(client, admin: TestUser) -> None:
    pem, thumbprint = certificate_pem()
    profile = graph_profile(client, admin, client_secret=None, client_certificate=pem)
    assert (profile["has_client_certificate"], profile["client_certificate_thumbprint"]) == (True, thumbprint)
    assert "PRIVATE KEY" not in json.dumps(profile)
    for bad in (certificate_pem("ec")[0], certificate_pem(matching=False)[0], "not a pem"):
        problem(client.patch(f"{P}/{profile['id']}", json={"client_certificate": bad}, headers=admin.headers),
                422, "client_certificate")


@pytest.mark.parametrize(("body", "field"), [
    ({"auth_type": None}, "auth_type"),
    ({"auth_type": "basic"}, "auth_type"),  # basic is EWS's, not Graph's
    ({"tenant_id": None}, "tenant_id"),
    ({"tenant_id": "not a tenant!"}, "tenant_id"),
    ({"service_url": "http://graph.contoso.example/v1.0"}, "service_url"),  # credentials in clear
    ({"authority_url": "ftp://login.example"}, "authority_url"),
    ({"outgoing_protocol": "ews"}, "outgoing_protocol"),
])
def test_an_incomplete_or_unsafe_graph_profile_is_refused_naming_the_field(client, admin: TestUser, body: dict,
                                                                           field: str) -> None:
    values = {"name": "Contoso Online", "incoming_protocol": "graph", "auth_type": "application",
              "tenant_id": TENANT, "client_id": CLIENT, "client_secret": SECRET}
    problem(client.post(P, json={**values, **body}, headers=admin.headers), 422, field)


def test_an_imap_profile_refuses_exchange_settings(client, admin: TestUser) -> None:
    problem(client.post(P, json={"name": "Mail", "incoming_host": "imap.contoso.example", "tenant_id": TENANT},
                        headers=admin.headers), 422, "tenant_id")
    problem(client.post(P, json={"name": "Mail", "incoming_host": "imap.contoso.example",
                                 "outgoing_protocol": "graph"}, headers=admin.headers), 422, "outgoing_protocol")


def test_an_ews_profile_takes_a_manual_url_or_autodiscover(client, admin: TestUser, org: OrgBuilder) -> None:
    manual = created(client, admin, "email-server-profiles", {
        "name": "On premises", "incoming_protocol": "ews", "auth_type": "ntlm",
        "service_url": "https://mail.contoso.example/EWS/Exchange.asmx/"})
    assert (manual["service_url"], manual["incoming_host"], manual["outgoing_protocol"]) == (
        "https://mail.contoso.example/EWS/Exchange.asmx", "mail.contoso.example", "ews")
    discovered = created(client, admin, "email-server-profiles", {
        "name": "Autodiscovered", "incoming_protocol": "ews", "auth_type": "basic"})
    assert discovered["service_url"] is None
    problem(client.post(P, json={"name": "OAuth", "incoming_protocol": "ews", "auth_type": "oauth",
                                 "tenant_id": TENANT, "client_id": CLIENT, "client_secret": SECRET},
                        headers=admin.headers), 422, "service_url")
    rep = org.user("rep@contoso.example", ["Salesperson"])
    box = mailbox(client, admin, manual, rep)
    assert (box["may_sync"], box["sync_blocked_reason"]) == (False, "no password: neither the mailbox nor its "
                                                             "email server profile has one")
    r = client.patch(f"{M}/{box['id']}", json={"password": "Ews-pw-1"}, headers=admin.headers)
    assert r.json()["may_sync"] is True


def test_a_delegated_mailbox_waits_for_consent_and_a_refused_one_stops_until_new_consent(
        client, admin: TestUser, org: OrgBuilder, session_factory) -> None:
    profile = graph_profile(client, admin, auth_type="delegated", client_secret=SECRET)
    rep = org.user("rep@contoso.example", ["Salesperson"])
    box = mailbox(client, admin, profile, rep)
    assert (box["may_sync"], box["sync_blocked_reason"]) == (False, "the mailbox's user has not consented yet "
                                                             "(no refresh token)")
    box = client.patch(f"{M}/{box['id']}", json={"oauth_refresh_token": "rt-1"}, headers=rep.headers).json()
    assert box["may_sync"] is True

    with UnitOfWork(session_factory) as uow:
        stop_sync(uow.session, uuid.UUID(box["id"]), "consent_revoked", "AADSTS65001: the user revoked consent")
        uow.commit()
    stopped = client.get(f"{M}/{box['id']}", headers=rep.headers).json()
    assert (stopped["may_sync"], stopped["sync_stopped_reason"]) == (False, "consent_revoked")
    assert "AADSTS65001" in stopped["sync_blocked_reason"]

    resumed = client.patch(f"{M}/{box['id']}", json={"oauth_refresh_token": "rt-2"}, headers=rep.headers).json()
    assert (resumed["may_sync"], resumed["sync_stopped_on"]) == (True, None)


def test_app_secrets_are_sealed_at_rest(client, admin: TestUser, session_factory) -> None:
    pem, _ = certificate_pem()
    profile = graph_profile(client, admin, client_certificate=pem)
    with UnitOfWork(session_factory) as uow:
        row = uow.session.get(EmailServerProfile, uuid.UUID(profile["id"]))
        assert row is not None and row.client_secret_secret and row.client_certificate_secret
        assert SECRET not in row.client_secret_secret and "PRIVATE KEY" not in row.client_certificate_secret
