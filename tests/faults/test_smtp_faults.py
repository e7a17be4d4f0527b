"""Sending through a faulty network, to the tests' aiosmtpd (STARTTLS and AUTH): a connection reset in the middle
of DATA leaves the email waiting in Pending Send with the reason, the server has received nothing, and the retry
delivers it once. (A server that cannot be reached at all is tests/mailbridge/test_outgoing.py's.)"""

from collections.abc import Iterator

import pytest

from mailbridge.outgoing import OutgoingOptions, send_pending
from tests.api import created
from tests.faults.proxy import reset
from tests.mailbridge.conftest import Mailbox as DovecotAccount
from tests.mailbridge.conftest import SmtpServer, running_smtp
from tests.mailbridge.tls import TestCertificate
from tests.mailbridge.tracking_fixtures import crm_mailbox
from tests.org import OrgBuilder, TestUser

API = "/api/v1"
# Long enough that DATA is most of what the client sends: a cut 150 KB in falls inside it.
LONG_BODY = "Please find our offer, line by line.\n" * 8000  # about 300 KB


@pytest.fixture
def smtp(smtp_certificate: TestCertificate, mailbox: DovecotAccount) -> Iterator[SmtpServer]:
    with running_smtp(smtp_certificate, mailbox.username, mailbox.password) as server:
        yield server


def test_a_send_reset_mid_data_waits_with_the_reason_and_goes_out_once(
    client, admin: TestUser, org: OrgBuilder, session_factory, mailbox: DovecotAccount, smtp: SmtpServer, proxy_to
) -> None:
    proxy = proxy_to((smtp.host, smtp.port))
    box = crm_mailbox(client, admin, org, session_factory, mailbox, incoming_filter="all")
    profile_id = client.get(f"{API}/mailboxes/{box.id}", headers=admin.headers).json()["server_profile_id"]
    r = client.patch(
        f"{API}/email-server-profiles/{profile_id}",
        json={"outgoing_host": proxy.host, "outgoing_port": proxy.port, "outgoing_security": "starttls"},
        headers=admin.headers,
    )
    assert r.status_code == 200, r.text
    assert client.patch(f"{API}/mailboxes/{box.id}", json={"outgoing_enabled": True}, headers=admin.headers).is_success
    draft = created(
        client,
        box.user,
        "activities",
        {
            "activity_type": "email",
            "subject": "Your quote",
            "body_text": LONG_BODY,
            "parties": [{"role": "to", "address": "jane@fabrikam.example"}],
        },
    )
    assert client.post(f"{API}/activities/{draft['id']}/send", headers=box.user.headers).status_code == 200
    options = OutgoingOptions(ssl_context=smtp.certificate.client_context(), timeout=10)
    proxy.schedule(reset(150_000, direction="up"))

    cut = send_pending(session_factory, options)

    assert (cut.sent, cut.retry, proxy.struck) == (0, 1, 1)
    waiting = client.get(f"{API}/activities/{draft['id']}", headers=admin.headers).json()
    assert waiting["status"] == "Pending Send" and waiting["send_error"].startswith("will retry")
    assert "reset" in waiting["send_error"] or "closed" in waiting["send_error"], waiting["send_error"]
    assert smtp.received == []

    assert send_pending(session_factory, options).sent == 1
    assert send_pending(session_factory, options).sent == 0
    assert client.get(f"{API}/activities/{draft['id']}", headers=admin.headers).json()["status"] == "Sent"
    [received] = smtp.received
    assert received["rcpt_tos"] == ["jane@fabrikam.example"] and b"Your quote" in received["content"]
