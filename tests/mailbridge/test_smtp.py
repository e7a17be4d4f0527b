"""SMTP submission against a real aiosmtpd that requires STARTTLS and AUTH."""

from email.message import EmailMessage
from email.parser import BytesParser

import pytest

from mailbridge.errors import AuthenticationFailed, ConnectionFailed, RecipientsRefused
from mailbridge.transports import MemoryTransport, SmtpSettings, SmtpTransport
from tests.mailbridge.conftest import SMTP_PASSWORD, SMTP_USER, SmtpServer
from tests.mailbridge.dovecot import free_port


def _message(message_id: str | None = None, to: str = "customer@example.net") -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = f"Rep <{SMTP_USER}>"
    msg["To"] = to
    msg["Bcc"] = "archive@example.org"
    msg["Subject"] = "Your quote CRM:0001234"
    if message_id:
        msg["Message-ID"] = message_id
    msg.set_content("Please find the quote below.")
    return msg


def _settings(server: SmtpServer, **overrides: object) -> SmtpSettings:
    values: dict[str, object] = {"host": server.host, "port": server.port, "security": "starttls",
                                 "username": SMTP_USER, "password": SMTP_PASSWORD,
                                 "ssl_context": server.certificate.client_context(), "timeout": 10}
    values.update(overrides)
    return SmtpSettings(**values)  # type: ignore[arg-type]


def test_submit_with_starttls_and_auth_delivers_our_message_id(smtp_server: SmtpServer) -> None:
    sent = SmtpTransport(_settings(smtp_server)).send(_message())
    assert len(smtp_server.received) == 1
    got = smtp_server.received[0]
    assert got["tls"] and got["auth"]
    assert got["mail_from"] == SMTP_USER
    assert got["rcpt_tos"] == ["customer@example.net", "archive@example.org"]
    delivered = BytesParser().parsebytes(got["content"])
    assert delivered["Message-ID"] == f"<{sent.message_id}>"
    assert sent.message_id.endswith("@example.org")  # generated on the sender's domain
    assert delivered["Bcc"] is None  # Bcc is in the envelope, never in the delivered header
    assert sent.accepted == ("customer@example.net", "archive@example.org")


def test_an_existing_message_id_is_kept_and_returned_normalised(smtp_server: SmtpServer) -> None:
    sent = SmtpTransport(_settings(smtp_server)).send(_message("<Quote.42@CRM.Example.ORG>"))
    assert sent.message_id == "Quote.42@crm.example.org"
    assert BytesParser().parsebytes(smtp_server.received[0]["content"])["Message-ID"] == "<Quote.42@CRM.Example.ORG>"


def test_partly_refused_recipients_are_reported_and_fully_refused_raise(smtp_server: SmtpServer) -> None:
    transport = SmtpTransport(_settings(smtp_server))
    sent = transport.send(_message(), recipients=["customer@example.net", "nobody@example.net"])
    assert sent.accepted == ("customer@example.net",)
    assert sent.refused["nobody@example.net"].startswith("550")
    with pytest.raises(RecipientsRefused) as refused:
        transport.send(_message(), recipients=["nobody@example.net"])
    assert "nobody@example.net" in refused.value.refused


def test_wrong_password_is_an_authentication_error(smtp_server: SmtpServer) -> None:
    with pytest.raises(AuthenticationFailed) as error:
        SmtpTransport(_settings(smtp_server, password="wrong")).send(_message())
    assert error.value.reason == "auth" and "wrong" not in error.value.detail
    assert smtp_server.received == []


def test_closed_port_and_untrusted_certificate_are_connection_errors(smtp_server: SmtpServer) -> None:
    with pytest.raises(ConnectionFailed) as closed:
        SmtpTransport(_settings(smtp_server, port=free_port())).send(_message())
    assert closed.value.reason == "connect"
    with pytest.raises(ConnectionFailed) as untrusted:
        SmtpTransport(_settings(smtp_server, ssl_context=None)).send(_message())
    assert untrusted.value.reason == "tls"


def test_memory_transport_keeps_what_it_sends() -> None:
    transport = MemoryTransport(refuse=["nobody@example.net"])
    sent = transport.send(_message(), recipients=["customer@example.net", "nobody@example.net"])
    assert sent.accepted == ("customer@example.net",) and "nobody@example.net" in sent.refused
    assert b"Message-ID: <" + sent.message_id.encode() in transport.sent[0][2]
