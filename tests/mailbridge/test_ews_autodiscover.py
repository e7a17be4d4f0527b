"""An EWS mailbox whose profile has no URL finds its EWS endpoint by autodiscover, through exchangelib's own
Autodiscovery: DNS lookups (A for autodiscover.<domain>, SRV for _autodiscover._tcp.<domain>), HTTPS on port 443
of the name found, SOAP GetUserSettings answered by the fake Exchange server. "Test connection" and the first
sync both work from the address alone; a domain with no autodiscover, or an address the server does not know,
gets a reason an admin can act on.

The network is the test's (tests/fakes/ews/network.py): a DNS server and an HTTP proxy on loopback. exchangelib is
pointed at them only by its own settings: `Autodiscovery.DNS_RESOLVER_KWARGS/DNS_RESOLVER_ATTRS` (the dnspython
resolver it builds) and the variables requests reads (HTTPS_PROXY, NO_PROXY, REQUESTS_CA_BUNDLE, which trusts the
fake's certificate as a deployment trusts its private CA); its on-disk autodiscover cache is moved to the test's
temporary directory and its in-process cache emptied around each test. None of our code is patched."""

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from exchangelib.autodiscover import cache as autodiscover_cache_module
from exchangelib.autodiscover.cache import autodiscover_cache
from exchangelib.autodiscover.discovery import Autodiscovery

from mailbridge.runs import run_mailbox_sync
from mailbridge.tracking import TrackingOptions
from tests.api import created
from tests.fakes.ews import EwsFake, running_ews
from tests.fakes.ews.network import LOOPBACK, FakeNetwork, Zone, running_network
from tests.mailbridge.tls import TestCertificate, make_certificate
from tests.mailbridge.tracking_fixtures import emails, mail
from tests.org import OrgBuilder, TestUser

DOMAIN = "contoso.example"
PASSWORD = "Passw0rd!"
PROXY_VARIABLES = ("HTTPS_PROXY", "HTTP_PROXY", "NO_PROXY", "ALL_PROXY", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")


@dataclass
class Contoso:
    """The fake Exchange server of contoso.example, and the network that may publish it."""

    fake: EwsFake
    network: FakeNetwork
    certificate: TestCertificate
    cache_file: Path

    def publish_autodiscover_host(self) -> None:
        """autodiscover.contoso.example resolves to the server (the usual setup)."""
        self.network.zone.hosts[f"autodiscover.{DOMAIN}"] = self.fake.port

    def publish_srv_record(self) -> None:
        """Only an SRV record, pointing at mail.contoso.example port 443 (a hosted or multi-domain setup)."""
        self.network.zone.hosts[f"mail.{DOMAIN}"] = self.fake.port
        self.network.zone.srv[f"_autodiscover._tcp.{DOMAIN}"] = [f"10 10 443 mail.{DOMAIN}."]


@pytest.fixture
def contoso(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Contoso]:
    certificate = make_certificate(tmp_path / "tls", (f"autodiscover.{DOMAIN}", f"mail.{DOMAIN}"))
    with running_ews(certificate) as fake, running_network(Zone()) as network:
        monkeypatch.setattr(Autodiscovery, "DNS_RESOLVER_KWARGS", {"configure": False})  # not /etc/resolv.conf
        monkeypatch.setattr(
            Autodiscovery, "DNS_RESOLVER_ATTRS", {"nameservers": [LOOPBACK], "port": network.dns_port, "timeout": 2.0}
        )
        cache_file = tmp_path / "exchangelib-autodiscover"
        monkeypatch.setattr(autodiscover_cache_module, "AUTODISCOVER_PERSISTENT_STORAGE", cache_file)
        for name in PROXY_VARIABLES:
            monkeypatch.delenv(name, raising=False)
            monkeypatch.delenv(name.lower(), raising=False)
        monkeypatch.setenv("HTTPS_PROXY", network.proxy_url)
        monkeypatch.setenv("HTTP_PROXY", network.proxy_url)
        monkeypatch.setenv("NO_PROXY", f"{LOOPBACK},localhost")  # the EWS URL found is the fake's own address
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(certificate.cert_path))
        autodiscover_cache.close()  # no protocol another test's discovery left in this process
        try:
            yield Contoso(fake, network, certificate, cache_file)
        finally:
            autodiscover_cache.close()


class Rep:
    """A salesperson with an approved CRM mailbox on an EWS profile without URL (NTLM, his login)."""

    def __init__(
        self,
        client: Any,
        admin: TestUser,
        org: OrgBuilder,
        contoso: Contoso,
        *,
        address: str | None = None,
        on_server: bool = True,
    ) -> None:
        self.client, self.admin = client, admin
        self.address = address or f"rep-{uuid.uuid4().hex[:6]}@{DOMAIN}"
        self.user = org.user(self.address, ["Salesperson"])
        login = f"CONTOSO\\{self.address.split('@')[0]}"
        if on_server:
            self.box = contoso.fake.add_mailbox(self.address, username=login, password=PASSWORD)
        else:  # the login exists (another mailbox's), the address does not
            contoso.fake.add_mailbox(f"other@{DOMAIN}", username=login, password=PASSWORD)
        profile = created(
            client,
            admin,
            "email-server-profiles",
            {"name": f"Contoso Exchange {uuid.uuid4().hex[:6]}", "incoming_protocol": "ews", "auth_type": "ntlm"},
        )
        assert profile["service_url"] is None  # autodiscover
        mailbox = created(
            client,
            admin,
            "mailboxes",
            {
                "email_address": self.address,
                "regarding_type": "user",
                "regarding_id": str(self.user.id),
                "server_profile_id": profile["id"],
                "username": login,
                "password": PASSWORD,
                "incoming_filter": "all",
            },
        )
        r = client.post(f"/api/v1/mailboxes/{mailbox['id']}/approve", headers=admin.headers)
        assert r.status_code == 200, r.text
        self.id = mailbox["id"]

    def test_connection(self) -> dict[str, Any]:
        r = self.client.post(f"/api/v1/mailboxes/{self.id}/test", headers=self.admin.headers)
        assert r.status_code == 200, r.text
        return r.json()["last_test"]  # type: ignore[no-any-return]


def sync(session_factory: Any, rep: Rep, contoso: Contoso) -> Any:
    options = TrackingOptions(timeout=10, ssl_context=contoso.certificate.client_context(), parse_workers=0)
    return run_mailbox_sync(session_factory, uuid.UUID(rep.id), trigger="requested", options=options)


@pytest.mark.parametrize("publish", ["autodiscover_host", "srv_record"])
def test_a_mailbox_without_url_finds_ews_by_autodiscover_tests_ok_and_tracks_mail(
    client: Any, admin: TestUser, org: OrgBuilder, session_factory: Any, contoso: Contoso, publish: str
) -> None:
    getattr(contoso, f"publish_{publish}")()
    rep = Rep(client, admin, org, contoso)
    rep.box.add_message("inbox", mail(sender="jane@fabrikam.example", to=rep.address, subject="Order 1001"))

    outcome = rep.test_connection()

    assert (outcome["outcome"], outcome["reason"]) == ("ok", None), outcome
    assert f"logged in to {LOOPBACK}:{contoso.fake.port}" in outcome["message"]  # the EWS URL autodiscover gave
    found_at = f"autodiscover.{DOMAIN}:443" if publish == "autodiscover_host" else f"mail.{DOMAIN}:443"
    assert found_at in contoso.network.connects and "GetUserSettings" in contoso.fake.requests

    result = sync(session_factory, rep, contoso)

    assert result.outcome == "succeeded" and result.summary is not None and result.summary.tracked == 1
    assert [e["subject"] for e in emails(client, rep.user)] == ["Order 1001"]
    assert any(contoso.cache_file.parent.glob(f"{contoso.cache_file.name}*"))  # exchangelib's cache: the test's


def test_a_domain_without_autodiscover_is_a_clear_connection_test_failure(
    client: Any, admin: TestUser, org: OrgBuilder, contoso: Contoso
) -> None:
    rep = Rep(client, admin, org, contoso)  # nothing published: no A, no SRV record for contoso.example

    outcome = rep.test_connection()

    assert (outcome["outcome"], outcome["reason"]) == ("failed", "autodiscover"), outcome
    assert "autodiscover found no EWS endpoint" in outcome["message"] and rep.address in outcome["message"]
    assert PASSWORD not in outcome["message"]
    assert contoso.network.connects == [] and contoso.fake.requests == []  # DNS said no: nothing was contacted


def test_an_address_the_server_does_not_know_is_reported_as_such(
    client: Any, admin: TestUser, org: OrgBuilder, contoso: Contoso
) -> None:
    contoso.publish_autodiscover_host()
    rep = Rep(client, admin, org, contoso, on_server=False)

    outcome = rep.test_connection()

    assert (outcome["outcome"], outcome["reason"]) == ("failed", "mailbox_not_found"), outcome
    assert rep.address in outcome["message"] and PASSWORD not in outcome["message"]
