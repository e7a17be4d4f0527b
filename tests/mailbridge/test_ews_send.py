"""Sending through Exchange with `EwsTransport` against the fake server: the mail leaves with our Message-ID and
its copy lands in Sent Items with it (so the Sent folder's sync recognises it); envelope recipients beyond the
headers go as Bcc; a login that may not send as the From address is told so; a short throttle is waited out and
the mail sent once; a dropped connection is not retried, as the mail may have left."""

from email.message import EmailMessage

import pytest

from mailbridge.errors import AuthenticationFailed, ConnectionFailed
from mailbridge.sources.ews import EwsSettings
from mailbridge.transports.ews import EwsTransport
from tests.fakes.ews import EwsFake, FakeMailbox
from tests.fakes.ews.fixtures import ews, ews_certificate  # noqa: F401  (fixtures)
from tests.mailbridge.tls import TestCertificate

ADDRESS, LOGIN, PASSWORD = "rep@contoso.example", "CONTOSO\\rep", "Passw0rd!"


@pytest.fixture
def box(ews: EwsFake) -> FakeMailbox:  # noqa: F811
    return ews.add_mailbox(ADDRESS, username=LOGIN, password=PASSWORD)


@pytest.fixture
def transport(ews: EwsFake, ews_certificate: TestCertificate, box: FakeMailbox) -> EwsTransport:  # noqa: F811
    return EwsTransport(EwsSettings(ADDRESS, "basic", ews.url, username=LOGIN, password=PASSWORD, timeout=10,
                                    ssl_context=ews_certificate.client_context()))


def message(sender: str = ADDRESS, **headers: str) -> EmailMessage:
    mail = EmailMessage()
    mail["From"] = f"Rep <{sender}>"
    mail["To"] = "Jane <jane@customer.example>"
    mail["Subject"] = "Your quote"
    for name, value in headers.items():
        mail[name] = value
    mail.set_content("Please find the figures below.")
    return mail


def test_a_sent_mail_keeps_our_message_id_and_its_copy_is_in_sent_items(ews: EwsFake, box: FakeMailbox,  # noqa: F811
                                                                        transport: EwsTransport) -> None:
    colleague = ews.add_mailbox("boss@contoso.example")

    sent = transport.send(message(Cc="boss@contoso.example"), recipients=["jane@customer.example",
                                                                          "boss@contoso.example",
                                                                          "audit@contoso.example"])

    assert sent.message_id and sent.accepted == ("jane@customer.example", "boss@contoso.example",
                                                 "audit@contoso.example")
    assert [m.message_id for m in box.messages("sentitems")] == [f"<{sent.message_id}>"]
    assert [(s.recipients, f"<{sent.message_id}>".encode() in s.raw) for s in box.sent] == [
        (("jane@customer.example", "boss@contoso.example", "audit@contoso.example"), True)]
    assert [m.subject for m in colleague.messages("inbox")] == ["Your quote"]  # delivered inside the organisation
    assert ews.requests.count("CreateItem") == 1


def test_sending_as_someone_else_is_refused_with_the_reason(box: FakeMailbox, transport: EwsTransport) -> None:
    with pytest.raises(AuthenticationFailed) as refused:
        transport.send(message(sender="ceo@contoso.example"))

    assert refused.value.reason == "send_as_denied"
    assert box.sent == [] and box.messages("sentitems") == []


def test_a_throttled_send_waits_and_sends_once(ews: EwsFake, box: FakeMailbox,  # noqa: F811
                                               transport: EwsTransport) -> None:
    ews.busy(times=1, back_off_ms=200, operation="CreateItem")

    transport.send(message(**{"Message-ID": "<quote-7@contoso.example>"}))

    assert [m.message_id for m in box.messages("sentitems")] == ["<quote-7@contoso.example>"]
    assert len(box.sent) == 1


def test_a_send_whose_connection_drops_is_not_repeated(ews: EwsFake, box: FakeMailbox,  # noqa: F811
                                                       transport: EwsTransport) -> None:
    ews.drop_connection(times=1, operation="CreateItem")

    with pytest.raises(ConnectionFailed):
        transport.send(message())

    assert ews.requests.count("CreateItem") == 1
