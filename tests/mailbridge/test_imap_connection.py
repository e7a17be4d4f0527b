"""Connecting and "test connection" against a real Dovecot: TLS both ways, and a clear reason when it fails."""

import pytest

from mailbridge.errors import AuthenticationFailed, ConnectionFailed, FolderMissing
from mailbridge.sources.imap import ImapSession, sync_folder, test_connection
from tests.mailbridge.conftest import Mailbox
from tests.mailbridge.dovecot import free_port


def test_implicit_tls_and_starttls_verify_the_server_and_log_in(mailbox: Mailbox) -> None:
    context = mailbox.server.certificate.client_context()
    implicit = mailbox.settings(port=mailbox.server.tls_port, security="tls", ssl_context=context)
    starttls = mailbox.settings(security="starttls", ssl_context=context)
    for settings in (implicit, starttls):
        check = test_connection(settings)
        assert check.ok, check.message
        assert check.folders == {"INBOX": "INBOX", "\\Sent": "Sent"}  # Sent found by its \Sent special use
        assert check.supports_qresync


def test_an_untrusted_certificate_is_a_tls_failure(mailbox: Mailbox) -> None:
    check = test_connection(mailbox.settings(port=mailbox.server.tls_port, security="tls"))  # system CAs only
    assert (check.ok, check.reason) == (False, "tls")


def test_wrong_password_is_reported_as_auth(mailbox: Mailbox) -> None:
    check = test_connection(mailbox.settings(password="wrong"))
    assert (check.ok, check.reason) == (False, "auth")
    assert "wrong" not in check.message
    with pytest.raises(AuthenticationFailed):
        ImapSession(mailbox.settings(password="wrong")).open()


def test_closed_port_is_reported_as_connect(mailbox: Mailbox) -> None:
    check = test_connection(mailbox.settings(port=free_port(), timeout=5))
    assert (check.ok, check.reason) == (False, "connect")


def test_unknown_host_is_reported_as_dns(mailbox: Mailbox) -> None:
    check = test_connection(mailbox.settings(host="no-such-host.invalid", security="tls", timeout=5))
    assert (check.ok, check.reason) == (False, "dns")


def test_missing_folder_is_reported_as_folder_missing(mailbox: Mailbox) -> None:
    check = test_connection(mailbox.settings(folders=("INBOX", "Customers")))
    assert (check.ok, check.reason) == (False, "folder_missing")
    assert "Customers" in check.message
    with ImapSession(mailbox.settings()) as session, pytest.raises(FolderMissing):
        sync_folder(session, "Customers", None)


def test_plain_imap_is_refused_to_anything_but_loopback(mailbox: Mailbox) -> None:
    from crm_core.errors import ValidationFailed

    with pytest.raises(ValidationFailed):
        mailbox.settings(host="imap.example.com")
    assert ConnectionFailed("x", reason="tls").reason == "tls"
