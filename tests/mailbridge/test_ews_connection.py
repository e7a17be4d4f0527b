""""Test connection" for an EWS mailbox (`check_ews`) says precisely what is wrong, one reason code and words an
admin can act on; and a sync with a wrong password fails as an authentication failure, not as a retry."""

import dataclasses
import socket
from typing import Any

import pytest

from mailbridge.errors import AuthenticationFailed
from mailbridge.sources.ews import ews_source
from mailbridge.sources.ews.check import check_ews
from mailbridge.sources.registry import SourceOptions
from tests.fakes.ews import EwsFake, FakeMailbox
from tests.fakes.ews.fixtures import ews, ews_certificate, ews_connection  # noqa: F401  (fixtures)
from tests.mailbridge.tls import TestCertificate

ADDRESS, LOGIN, PASSWORD = "rep@contoso.example", "CONTOSO\\rep", "Passw0rd!"
APP = ("contoso", "crm-app", "app-secret")


@pytest.fixture
def box(ews: EwsFake) -> FakeMailbox:  # noqa: F811
    return ews.add_mailbox(ADDRESS, username=LOGIN, password=PASSWORD)


def check(fake: EwsFake, certificate: TestCertificate | None, box: FakeMailbox, **connection: Any) -> Any:
    return check_ews(ews_connection(fake, box, **connection), timeout=5,
                     ssl_context=certificate.client_context() if certificate else None)


def test_a_working_mailbox_names_server_login_and_folders(ews: EwsFake, ews_certificate: TestCertificate,  # noqa: F811
                                                          box: FakeMailbox) -> None:
    outcome = check(ews, ews_certificate, box)

    assert (outcome.ok, outcome.reason) == (True, None)
    assert "CONTOSO\\rep" in outcome.message and "INBOX, Sent Items" in outcome.message
    assert "Exchange Server 2019" in outcome.message


@pytest.mark.parametrize(("arrange", "connection", "reason", "says"), [
    (None, {"password": "wrong"}, "auth", "refused the login"),
    (None, {"address": "nobody@contoso.example"}, "mailbox_not_found", "no such mailbox"),
    ("colleague", {"address": "boss@contoso.example"}, "access_denied", "denies access"),
    ("disable", {}, "ews_disabled", "EWS"),
    ("throttle", {}, "throttled", "wait 90 s"),
    (None, {"folders": ("INBOX", "Projects/2024")}, "folder_missing", "'Projects/2024' does not exist"),
])
def test_each_problem_has_its_reason(ews: EwsFake, ews_certificate: TestCertificate, box: FakeMailbox,  # noqa: F811
                                     arrange: str | None, connection: dict[str, Any], reason: str, says: str) -> None:
    if arrange == "colleague":
        ews.add_mailbox("boss@contoso.example")
    elif arrange == "disable":
        ews.disable_ews(ADDRESS)
    elif arrange == "throttle":
        ews.busy(times=1, back_off_ms=90_000)

    outcome = check(ews, ews_certificate, box, **connection)

    assert (outcome.ok, outcome.reason) == (False, reason)
    assert says in outcome.message
    assert PASSWORD not in outcome.message and "wrong" not in outcome.message


def test_a_certificate_nobody_vouches_for_is_a_tls_failure(ews: EwsFake, box: FakeMailbox) -> None:  # noqa: F811
    outcome = check(ews, None, box)  # the system's trust store: the test CA is not in it

    assert (outcome.ok, outcome.reason) == (False, "tls")


def test_nothing_listening_or_a_server_too_slow_is_a_connection_failure(ews: EwsFake,  # noqa: F811
                                                                         ews_certificate: TestCertificate,  # noqa: F811
                                                                         box: FakeMailbox) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    connection = ews_connection(ews, box)
    elsewhere = dataclasses.replace(connection, exchange=dataclasses.replace(
        connection.exchange, service_url=f"https://127.0.0.1:{closed}/EWS/Exchange.asmx"))
    assert check_ews(elsewhere, timeout=5, ssl_context=ews_certificate.client_context()).reason == "connect"

    ews.delay = 2.0
    slow = check_ews(connection, timeout=0.5, ssl_context=ews_certificate.client_context())
    assert (slow.reason, "did not answer in time" in slow.message) == ("connect", True)


def test_no_password_is_said_before_anything_is_sent(ews: EwsFake, ews_certificate: TestCertificate,  # noqa: F811
                                                     box: FakeMailbox) -> None:
    connection = ews_connection(ews, box)
    connection = dataclasses.replace(connection, incoming=dataclasses.replace(connection.incoming, password=None))

    outcome = check_ews(connection, ssl_context=ews_certificate.client_context())

    assert outcome.reason == "credentials" and ews.requests == []


def test_oauth_works_with_the_apps_token_and_says_what_is_wrong_otherwise(
        ews: EwsFake, ews_certificate: TestCertificate, box: FakeMailbox) -> None:  # noqa: F811
    token = ews.register_app(APP[1], APP[2], tenant_id=APP[0])
    oauth = {"auth_type": "oauth", "client": APP}

    assert check(ews, ews_certificate, box, **oauth).reason == "access_denied"  # the app was not granted the box
    ews.accept_bearer(token, ADDRESS)
    granted = check(ews, ews_certificate, box, **oauth)
    assert (granted.ok, "application crm-app" in granted.message) == (True, True)
    refused = check(ews, ews_certificate, box, auth_type="oauth", client=(APP[0], APP[1], "not-the-secret"))
    assert (refused.reason, "AADSTS7000215" in refused.message) == ("auth", True)


@pytest.mark.parametrize("auth_type", ["basic", "ntlm"])
def test_a_sync_with_a_wrong_password_fails_as_authentication(ews: EwsFake, ews_certificate: TestCertificate,  # noqa: F811
                                                              box: FakeMailbox, auth_type: str) -> None:
    options = SourceOptions(timeout=5, ssl_context=ews_certificate.client_context())
    with ews_source(ews_connection(ews, box, auth_type=auth_type), options) as source:
        assert [f.name for f in source.folders()] == ["INBOX", "Sent Items"]
    ews.requests.clear()
    source = ews_source(ews_connection(ews, box, auth_type=auth_type, password="wrong"), options)

    with pytest.raises(AuthenticationFailed) as refused, source:
        source.folders()

    assert refused.value.reason == "auth"
    assert set(ews.requests) == {"ConvertId"}  # refused at the first request: no retry, nothing else asked


def test_settings_the_source_refuses_are_a_configuration_problem(ews: EwsFake, box: FakeMailbox) -> None:  # noqa: F811
    connection = ews_connection(ews, box)
    exchange = connection.exchange
    assert exchange is not None
    cases = {
        "plain http to a remote host": dataclasses.replace(exchange, service_url="http://mail.contoso.example/EWS/"),
        "OAuth without the EWS URL": dataclasses.replace(exchange, auth_type="oauth", service_url=None,
                                                         tenant_id=APP[0], client_id=APP[1], client_secret=APP[2]),
        "an unknown login kind": dataclasses.replace(exchange, auth_type="kerberos"),
    }
    for case, wrong in cases.items():
        outcome = check_ews(dataclasses.replace(connection, exchange=wrong))
        assert outcome.reason == "configuration", case
    assert ews.requests == []
