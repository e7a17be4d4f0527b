"""Sending from the CRM: a rep's email goes out through his mailbox (a real SMTP server with STARTTLS and AUTH),
with our Message-ID and tracking token; the copy in Sent is recognised, not tracked twice; a reply with the
token finds the case; failures say why; campaign emails go out throttled per mailbox."""

import dataclasses
import uuid
from collections.abc import Iterator
from email import policy
from email.parser import BytesParser
from typing import Any

import pytest

from mailbridge.outgoing import OutgoingOptions, mailbox_transport, send_pending
from mailbridge.transports.base import MemoryTransport
from tests.api import created, problem
from tests.mailbridge.conftest import Mailbox as DovecotAccount
from tests.mailbridge.conftest import SmtpServer, running_smtp
from tests.mailbridge.dovecot import free_port
from tests.mailbridge.tls import TestCertificate
from tests.mailbridge.tracking_fixtures import append, contact, crm_mailbox, emails, mail, sync
from tests.org import OrgBuilder, TestUser

API = "/api/v1"


@pytest.fixture
def smtp(smtp_certificate: TestCertificate, mailbox: DovecotAccount) -> Iterator[SmtpServer]:
    """aiosmtpd requiring STARTTLS and AUTH with the same login as the rep's IMAP account."""
    with running_smtp(smtp_certificate, mailbox.username, mailbox.password) as server:
        yield server


def _options(smtp: SmtpServer, **extra: Any) -> OutgoingOptions:
    return OutgoingOptions(ssl_context=smtp.certificate.client_context(), timeout=10, **extra)


def _rep_mailbox(client: Any, admin: TestUser, org: OrgBuilder, session_factory: Any, account: DovecotAccount,
                 smtp: SmtpServer) -> Any:
    box = crm_mailbox(client, admin, org, session_factory, account, incoming_filter="all")
    # The profile crm_mailbox made reads from Dovecot; give it the SMTP server to send through.
    profile_id = client.get(f"{API}/mailboxes/{box.id}", headers=admin.headers).json()["server_profile_id"]
    r = client.patch(f"{API}/email-server-profiles/{profile_id}", json={
        "outgoing_host": smtp.host, "outgoing_port": smtp.port, "outgoing_security": "starttls"},
        headers=admin.headers)
    assert r.status_code == 200, r.text
    r = client.patch(f"{API}/mailboxes/{box.id}", json={"outgoing_enabled": True}, headers=admin.headers)
    assert r.status_code == 200, r.text
    return box


def _draft(client: Any, user: TestUser, **extra: Any) -> dict[str, Any]:
    return created(client, user, "activities", {"activity_type": "email", "subject": "Your quote",
                                                "body_text": "Please find our offer.", **extra})


def test_a_reps_email_goes_out_once_and_its_sent_copy_and_reply_find_it(
        client, org: OrgBuilder, session_factory, mailbox: DovecotAccount, smtp: SmtpServer) -> None:
    admin = org.admin()
    box = _rep_mailbox(client, admin, org, session_factory, mailbox, smtp)
    jane = contact(client, admin, "Jane", "Doe", "jane@fabrikam.example")
    case = created(client, admin, "cases", {"title": "Quote", "customer_type": "contact", "customer_id": jane["id"]})
    draft = _draft(client, box.user, regarding_type="case", regarding_id=case["id"], parties=[
        {"role": "to", "party_type": "contact", "party_id": jane["id"]},
        {"role": "bcc", "address": "archive@contoso.example"}])

    r = client.post(f"{API}/activities/{draft['id']}/send", headers=box.user.headers)
    assert r.status_code == 200, r.text
    assert (r.json()["state"], r.json()["status"]) == ("Completed", "Pending Send")
    assert client.get(f"{API}/cases/{case['id']}", headers=admin.headers).json()["first_response_sent"] is False

    summary = send_pending(session_factory, _options(smtp))
    assert (summary.sent, summary.failed) == (1, 0)
    assert len(smtp.received) == 1
    got = smtp.received[0]
    assert got["tls"] and got["auth"]
    assert sorted(got["rcpt_tos"]) == ["archive@contoso.example", "jane@fabrikam.example"]
    message = BytesParser(policy=policy.default).parsebytes(got["content"])
    assert "Bcc" not in message and message["From"].addresses[0].addr_spec == box.address
    sent = client.get(f"{API}/activities/{draft['id']}", headers=admin.headers).json()
    assert (sent["state"], sent["status"], sent["send_error"]) == ("Completed", "Sent", None)
    assert message["Message-ID"] == f"<{sent['message_id']}>"
    assert message["Subject"] == f"Your quote {sent['tracking_token']}"
    assert sent["tracking_token"].startswith("CRM:")
    # Sent for real: the case has its first response.
    assert client.get(f"{API}/cases/{case['id']}", headers=admin.headers).json()["first_response_sent"] is True
    # A second run sends nothing again.
    assert send_pending(session_factory, _options(smtp)).sent == 0
    assert len(smtp.received) == 1

    # The mail server's copy in Sent is recognised, not tracked twice; Jane's reply (a client that dropped
    # In-Reply-To, but kept the token) lands on the case.
    mailbox.client.create_folder("Sent") if not mailbox.client.folder_exists("Sent") else None
    append(mailbox, got["content"], "Sent")
    reply = mail(sender="jane@fabrikam.example", to=box.address, subject=f"RE: {message['Subject']}",
                 body="Thanks, we accept.")
    append(mailbox, reply)
    client.patch(f"{API}/mailboxes/{box.id}", json={"folders": ["INBOX", "Sent"]}, headers=admin.headers)
    sync(session_factory, box)
    tracked = emails(client, admin)
    assert len(tracked) == 2
    answer = next(e for e in tracked if e["id"] != draft["id"])
    assert (answer["regarding_type"], answer["regarding_id"]) == ("case", case["id"])


def test_sending_is_refused_clearly_when_it_cannot_work(client, org: OrgBuilder, session_factory,
                                                       mailbox: DovecotAccount, smtp: SmtpServer) -> None:
    admin = org.admin()
    box = _rep_mailbox(client, admin, org, session_factory, mailbox, smtp)
    nobody = _draft(client, box.user)
    problem(client.post(f"{API}/activities/{nobody['id']}/send", headers=box.user.headers), 422, "parties")
    no_address = created(client, admin, "contacts", {"last_name": "Silent"})
    silent = _draft(client, box.user, parties=[{"role": "to", "party_type": "contact", "party_id": no_address["id"]}])
    problem(client.post(f"{API}/activities/{silent['id']}/send", headers=box.user.headers), 422, "parties[0]")
    # A colleague without a mailbox cannot send.
    colleague = org.user("colleague@contoso.example", ["Salesperson"])
    theirs = _draft(client, colleague, parties=[{"role": "to", "address": "jane@fabrikam.example"}])
    body = problem(client.post(f"{API}/activities/{theirs['id']}/send", headers=colleague.headers), 409)
    assert "no mailbox" in body["detail"]
    # A mailbox with outgoing mail off says so.
    client.patch(f"{API}/mailboxes/{box.id}", json={"outgoing_enabled": False}, headers=admin.headers)
    draft = _draft(client, box.user, parties=[{"role": "to", "address": "jane@fabrikam.example"}])
    body = problem(client.post(f"{API}/activities/{draft['id']}/send", headers=box.user.headers), 409)
    assert "outgoing mail is off" in body["detail"]
    # A sent email is not sent again.
    client.patch(f"{API}/mailboxes/{box.id}", json={"outgoing_enabled": True}, headers=admin.headers)
    assert client.post(f"{API}/activities/{draft['id']}/send", headers=box.user.headers).status_code == 200
    problem(client.post(f"{API}/activities/{draft['id']}/send", headers=box.user.headers), 409)


def test_failures_are_recorded_with_the_reason_and_temporary_ones_retried(
        client, org: OrgBuilder, session_factory, mailbox: DovecotAccount, smtp: SmtpServer) -> None:
    admin = org.admin()
    box = _rep_mailbox(client, admin, org, session_factory, mailbox, smtp)
    refused = _draft(client, box.user, parties=[{"role": "to", "address": "nobody@fabrikam.example"}])
    client.post(f"{API}/activities/{refused['id']}/send", headers=box.user.headers)
    summary = send_pending(session_factory, _options(smtp))
    assert (summary.sent, summary.failed) == (0, 1)
    failed = client.get(f"{API}/activities/{refused['id']}", headers=admin.headers).json()
    assert (failed["state"], failed["status"]) == ("Open", "Failed")
    assert "nobody@fabrikam.example" in failed["send_error"]

    # The server is away: the email waits in Pending Send and goes when it is back.
    later = _draft(client, box.user, parties=[{"role": "to", "address": "jane@fabrikam.example"}])
    client.post(f"{API}/activities/{later['id']}/send", headers=box.user.headers)

    def unreachable(connection: Any, options: OutgoingOptions) -> Any:
        away = dataclasses.replace(connection.outgoing, host="127.0.0.1", port=free_port(), security="starttls")
        return mailbox_transport(dataclasses.replace(connection, outgoing=away), options)

    summary = send_pending(session_factory, _options(smtp), transport_for=unreachable)
    assert (summary.sent, summary.retry) == (0, 1)
    waiting = client.get(f"{API}/activities/{later['id']}", headers=admin.headers).json()
    assert waiting["status"] == "Pending Send" and waiting["send_error"].startswith("will retry")
    assert send_pending(session_factory, _options(smtp)).sent == 1
    assert client.get(f"{API}/activities/{later['id']}", headers=admin.headers).json()["status"] == "Sent"


def test_campaign_emails_go_out_a_few_per_mailbox_per_run(client, org: OrgBuilder, session_factory,
                                                          mailbox: DovecotAccount, smtp: SmtpServer) -> None:
    admin = org.admin()
    box = _rep_mailbox(client, admin, org, session_factory, mailbox, smtp)
    for n in range(5):
        draft = _draft(client, box.user, subject=f"Offer {n}",
                       parties=[{"role": "to", "address": f"customer{n}@fabrikam.example"}])
        assert client.post(f"{API}/activities/{draft['id']}/send", headers=box.user.headers).status_code == 200
    memory = MemoryTransport()
    first = send_pending(session_factory, _options(smtp, per_mailbox=2), transport_for=lambda e, o: memory)
    assert first.sent == 2
    rest = send_pending(session_factory, _options(smtp, per_mailbox=10), transport_for=lambda e, o: memory)
    assert rest.sent == 3
    tokens = {e["tracking_token"] for e in emails(client, admin)}
    assert len(tokens) == 5 and all(t.startswith("CRM:") for t in tokens)
    assert len({uuid.UUID(int=0)} | {e["message_id"] for e in emails(client, admin)}) == 6
