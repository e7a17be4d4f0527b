"""SSRF: a server address an administrator (or, for calendars, a user) enters is refused with a 422 naming the
field when it is, or resolves to, a loopback or link-local address (this machine; 169.254.169.254, the cloud's
metadata service; fe80::/10; the same written as IPv4-mapped IPv6 or as a number), at save and again right before
a connection. Private networks stay allowed (on-premises Exchange lives there); CRM_OUTBOUND_ALLOW lifts the
refusal for the networks it lists."""

import ipaddress
import uuid
from typing import Any

import pytest

from crm_core import network_guard
from mailbridge.tracking import sync_mailbox
from tests.api import created, problem
from tests.org import OrgBuilder, TestUser

API = "/api/v1"
P = f"{API}/email-server-profiles"
REFUSED_HOSTS = [
    "127.0.0.1",
    "127.8.9.10",
    "localhost",
    "::1",
    "[::1]",
    "169.254.169.254",
    "fe80::1",
    "::ffff:127.0.0.1",
    "::ffff:169.254.169.254",
    "0.0.0.0",  # noqa: S104 - a host refused, not bound
    "2130706433",
    "0x7f.1",
]
PRIVATE_HOSTS = ["10.0.0.5", "192.168.1.10", "172.16.0.1", "fd00::25"]


def _imap(name: str, **values: Any) -> dict[str, Any]:
    return {"name": name, "incoming_host": "imap.contoso.example", "incoming_security": "tls", **values}


@pytest.mark.usefixtures("no_allowance")
@pytest.mark.parametrize("host", REFUSED_HOSTS)
def test_a_mail_server_on_loopback_or_link_local_is_refused(client, admin: TestUser, host: str) -> None:
    problem(client.post(P, json=_imap("In", incoming_host=host), headers=admin.headers), 422, "incoming_host")
    problem(client.post(P, json=_imap("Out", outgoing_host=host), headers=admin.headers), 422, "outgoing_host")


@pytest.mark.usefixtures("no_allowance")
def test_exchange_and_graph_urls_are_checked_too(client, admin: TestUser) -> None:
    ews = {
        "name": "EWS",
        "incoming_protocol": "ews",
        "auth_type": "basic",
        "service_url": "https://169.254.169.254/EWS/Exchange.asmx",
    }
    problem(client.post(P, json=ews, headers=admin.headers), 422, "service_url")
    graph = {
        "name": "Graph",
        "incoming_protocol": "graph",
        "auth_type": "application",
        "tenant_id": "contoso.onmicrosoft.com",
        "client_id": "app-1",
        "client_secret": "s3cret-value",
    }
    problem(
        client.post(P, json={**graph, "service_url": "http://localhost:8080/v1.0"}, headers=admin.headers),
        422,
        "service_url",
    )
    problem(
        client.post(P, json={**graph, "authority_url": "https://[fe80::1]/"}, headers=admin.headers),
        422,
        "authority_url",
    )


@pytest.mark.usefixtures("no_allowance")
def test_private_addresses_pass_and_an_update_is_checked_as_a_creation(client, admin: TestUser) -> None:
    for i, host in enumerate(PRIVATE_HOSTS):
        created(client, admin, "email-server-profiles", _imap(f"On premises {i}", incoming_host=host))
    ews = created(
        client,
        admin,
        "email-server-profiles",
        {
            "name": "Exchange 2019",
            "incoming_protocol": "ews",
            "auth_type": "ntlm",
            "service_url": "https://10.1.2.3/EWS/Exchange.asmx",
        },
    )
    profile = created(client, admin, "email-server-profiles", _imap("Later moved"))
    problem(
        client.patch(f"{P}/{profile['id']}", json={"incoming_host": "127.0.0.1"}, headers=admin.headers),
        422,
        "incoming_host",
    )
    problem(
        client.patch(f"{P}/{ews['id']}", json={"service_url": "https://169.254.169.254/EWS"}, headers=admin.headers),
        422,
        "service_url",
    )


def test_the_allowance_lets_a_listed_network_through(client, admin: TestUser, monkeypatch) -> None:
    monkeypatch.setenv("CRM_OUTBOUND_ALLOW", '["169.254.10.0/24"]')
    created(client, admin, "email-server-profiles", _imap("Listed", incoming_host="169.254.10.7"))
    problem(
        client.post(P, json=_imap("Not listed", incoming_host="169.254.169.254"), headers=admin.headers),
        422,
        "incoming_host",
    )


@pytest.mark.usefixtures("no_allowance")
def test_calendar_urls_are_checked(client, org: OrgBuilder) -> None:
    rep = org.user("rep@example.com", ["Salesperson"])
    for kind, url in (
        ("caldav", "http://127.0.0.1:5232/rep/"),
        ("caldav", "https://localhost/dav/"),
        ("ics", "http://169.254.169.254/latest/meta-data/"),
        ("ics", "https://[::ffff:127.0.0.1]/x"),
    ):
        problem(
            client.post(f"{API}/calendars", json={"name": "C", "kind": kind, "url": url}, headers=rep.headers),
            422,
            "url",
        )
    created(client, rep, "calendars", {"name": "Office", "kind": "caldav", "url": "https://10.0.0.8/dav/rep/"})


def test_only_an_administrator_connects_a_feed_read_from_the_servers_disk(client, org: OrgBuilder, admin) -> None:
    rep = org.user("rep@example.com", ["Salesperson"])
    for url in ("/etc/passwd", "file:///etc/passwd", "../../var/crm/secret_key"):
        problem(
            client.post(f"{API}/calendars", json={"name": "F", "kind": "ics", "url": url}, headers=rep.headers), 403
        )
    created(client, admin, "calendars", {"name": "Holidays", "kind": "ics", "url": "/srv/feeds/holidays.ics"})


def test_a_stored_address_is_refused_again_when_the_connection_test_or_a_sync_connects(
    client, admin: TestUser, org: OrgBuilder, session_factory, monkeypatch
) -> None:
    """Saved while allowed (or while DNS answered otherwise): no connection is tried once it is refused."""
    rep = org.user("rep@contoso.example", ["Salesperson"])
    profile = created(
        client,
        admin,
        "email-server-profiles",
        _imap("Here", incoming_host="127.0.0.1", incoming_port=9, incoming_security="plain"),
    )
    box = created(
        client,
        admin,
        "mailboxes",
        {
            "email_address": rep.email,
            "regarding_type": "user",
            "regarding_id": str(rep.id),
            "server_profile_id": profile["id"],
            "username": "rep",
            "password": "pw-not-sent",
        },
    )
    assert client.post(f"{API}/mailboxes/{box['id']}/approve", headers=admin.headers).status_code == 200
    monkeypatch.setenv("CRM_OUTBOUND_ALLOW", "[]")
    problem(client.post(f"{API}/mailboxes/{box['id']}/test", headers=admin.headers), 422, "incoming_host")
    with pytest.raises(network_guard.OutboundRefused, match="loopback"):
        sync_mailbox(session_factory, uuid.UUID(box["id"]))


def _resolver(answers: dict[str, list[str]]) -> network_guard.Resolver:
    def resolve(host: str, _port: int) -> list[str]:
        if host not in answers:
            raise OSError("no such name")
        return answers[host]

    return resolve


def test_every_address_a_name_resolves_to_is_checked() -> None:
    resolver = _resolver(
        {
            "mail.rebind.example": ["203.0.113.5", "127.0.0.1"],
            "scoped.example": ["fe80::1%eth0"],
            "mapped.example": ["::ffff:169.254.169.254"],
            "office.example": ["10.0.0.5", "fd00::5"],
        }
    )
    for host in ("mail.rebind.example", "scoped.example", "mapped.example"):
        with pytest.raises(network_guard.OutboundRefused):
            network_guard.check_server_host(host, (), "incoming_host", resolver=resolver)
    network_guard.check_server_host("office.example", (), "incoming_host", resolver=resolver)
    # Not (yet) in DNS: accepted at save, the connection says "dns" later.
    network_guard.check_server_host("new.example", (), "incoming_host", resolver=resolver)
    allow = (ipaddress.ip_network("127.0.0.0/8"),)
    network_guard.check_server_host("mail.rebind.example", allow, "incoming_host", resolver=resolver)
