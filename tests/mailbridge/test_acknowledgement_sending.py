"""An email-to-case acknowledgement really goes out: a customer's mail to the support queue's mailbox (Dovecot)
opens a case; the sender submits the acknowledgement through the queue mailbox's SMTP server (aiosmtpd, with
STARTTLS and AUTH), From the queue, To the customer, answering her mail and carrying the tracking token; her
reply that keeps only the token finds the case, and the server's copy in Sent is not tracked a second time."""

import uuid
from collections.abc import Iterator
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from typing import Any

import pytest

from crm_core.security import secrets
from crm_core.security.secrets import Keyring
from mailbridge.outgoing import OutgoingOptions, send_pending
from tests.api import created
from tests.mailbridge.conftest import Mailbox as DovecotAccount
from tests.mailbridge.conftest import SmtpServer, running_smtp
from tests.mailbridge.tls import TestCertificate
from tests.mailbridge.tracking_fixtures import TEST_KEY, CrmMailbox, append, emails, mail, parties, sync
from tests.org import TestUser

API = "/api/v1"
SUPPORT = "support@contoso.example"
JANE = "jane@customer.example"


@pytest.fixture
def smtp(smtp_certificate: TestCertificate, mailbox: DovecotAccount) -> Iterator[SmtpServer]:
    """aiosmtpd requiring STARTTLS and AUTH with the queue mailbox's login (its Dovecot account's)."""
    with running_smtp(smtp_certificate, mailbox.username, mailbox.password) as server:
        yield server


def _support_desk(client: Any, admin: TestUser, session_factory: Any, account: DovecotAccount,
                  smtp: SmtpServer) -> tuple[dict[str, Any], CrmMailbox]:
    """The support queue, its approved mailbox (IMAP on Dovecot, SMTP on aiosmtpd, INBOX and Sent tracked)
    and an active case creation rule that acknowledges."""
    secrets.install(session_factory, Keyring(TEST_KEY))
    queue = created(client, admin, "queues", {"name": "Support", "email_address": SUPPORT})
    profile = created(client, admin, "email-server-profiles", {
        "name": f"Mail {uuid.uuid4().hex[:6]}", "incoming_host": account.server.host,
        "incoming_port": account.server.port, "incoming_security": "plain", "outgoing_host": smtp.host,
        "outgoing_port": smtp.port, "outgoing_security": "starttls"})
    box = created(client, admin, "mailboxes", {
        "name": "Support", "email_address": SUPPORT, "regarding_type": "queue", "regarding_id": queue["id"],
        "server_profile_id": profile["id"], "username": account.username, "password": account.password,
        "folders": ["INBOX", "Sent"], "outgoing_enabled": True})
    assert client.post(f"{API}/mailboxes/{box['id']}/approve", headers=admin.headers).status_code == 200
    rule = created(client, admin, "case-creation-rules", {"name": "Support mail", "queue_id": queue["id"],
                                                           "send_acknowledgement": True, "items": [{}]})
    r = client.post(f"{API}/case-creation-rules/{rule['id']}/activate", headers=admin.headers)
    assert r.status_code == 200, r.text
    if not account.client.folder_exists("Sent"):
        account.client.create_folder("Sent")
    return queue, CrmMailbox(uuid.UUID(box["id"]), admin, account)


def _cases(client: Any, user: TestUser) -> list[dict[str, Any]]:
    r = client.get(f"{API}/cases", params={"limit": 500}, headers=user.headers)
    assert r.status_code == 200, r.text
    return r.json()["items"]  # type: ignore[no-any-return]


def _decision(client: Any, admin: TestUser, email: dict[str, Any]) -> dict[str, Any]:
    r = client.get(f"{API}/case-creation-rules/decisions", params={"email_id": email["id"]}, headers=admin.headers)
    assert r.status_code == 200, r.text
    [decision] = r.json()
    return decision  # type: ignore[no-any-return]


def test_the_acknowledgement_goes_out_from_the_queue_and_the_reply_with_its_token_finds_the_case(
        client, admin: TestUser, session_factory, mailbox: DovecotAccount,
        smtp: SmtpServer) -> None:
    queue, desk = _support_desk(client, admin, session_factory, mailbox, smtp)
    account = created(client, admin, "accounts", {"name": "Customer Inc."})
    jane = created(client, admin, "contacts", {"first_name": "Jane", "last_name": "Doe", "email_address1": JANE,
                                               "parent_account_id": account["id"]})
    first_id = "<printer-1@customer.example>"
    append(mailbox, mail(sender=f"Jane Doe <{JANE}>", to=SUPPORT, subject="Printer on fire", message_id=first_id,
                         body="The printer on floor 3 is smoking."))

    assert sync(session_factory, desk).tracked == 1
    [case] = _cases(client, admin)
    [ack] = [e for e in emails(client, admin) if e["direction_outgoing"]]
    assert (ack["status"], ack["regarding_id"]) == ("Pending Send", case["id"])

    summary = send_pending(session_factory, OutgoingOptions(ssl_context=smtp.certificate.client_context(),
                                                            timeout=10))

    assert (summary.sent, summary.failed, summary.errors) == (1, 0, {})
    [got] = smtp.received
    assert got["tls"] and got["auth"]
    assert (got["mail_from"], got["rcpt_tos"]) == (SUPPORT, [JANE])
    message: EmailMessage = BytesParser(policy=policy.default).parsebytes(got["content"])  # type: ignore[assignment]
    sent = client.get(f"{API}/activities/{ack['id']}", headers=admin.headers).json()
    assert (sent["state"], sent["status"], sent["send_error"]) == ("Completed", "Sent", None)
    token = sent["tracking_token"]
    assert token and token.startswith("CRM:")
    # A long subject is folded right after "Subject:"; unfolded, as a mail client shows it:
    subject = " ".join(str(message["Subject"]).split())
    assert subject == f"We received your request: Printer on fire ({case['case_number']}) {token}"
    assert message["In-Reply-To"] == first_id
    assert message["Message-ID"] == f"<{sent['message_id']}>"
    assert [a.addr_spec for a in message["From"].addresses] == [SUPPORT]
    assert [a.addr_spec for a in message["To"].addresses] == [JANE]
    assert case["case_number"] in message.get_content()
    # An automatic acknowledgement is not the first response a person owes the customer.
    assert client.get(f"{API}/cases/{case['id']}", headers=admin.headers).json()["first_response_sent"] is False
    assert send_pending(session_factory, OutgoingOptions(ssl_context=smtp.certificate.client_context())).sent == 0

    # The server keeps a copy in Sent; Jane answers from a client that drops In-Reply-To but keeps the subject.
    append(mailbox, got["content"], "Sent")
    append(mailbox, mail(sender=JANE, to=SUPPORT, subject=f"RE: {subject}",
                         body="It stopped smoking, but it still does not print."))
    again = sync(session_factory, desk)

    assert (again.tracked, again.duplicates) == (1, 1)
    assert [c["id"] for c in _cases(client, admin)] == [case["id"]]  # no second case
    tracked = emails(client, admin)
    assert len(tracked) == 3  # Jane's mail, the acknowledgement (once), her reply
    assert [e["id"] for e in tracked if e["direction_outgoing"]] == [ack["id"]]
    reply = next(e for e in tracked if e["body_text"] and "still does not print" in e["body_text"])
    assert (reply["regarding_type"], reply["regarding_id"]) == ("case", case["id"])
    assert [(p["party_type"], p["party_id"]) for p in parties(reply, "sender")] == [("contact", jane["id"])]
    link = client.get(f"{API}/activities/{reply['id']}/link", headers=admin.headers).json()
    assert link["signal"] == "token"
    assert _decision(client, admin, reply)["outcome"] == "added"
    # The Sent copy was recognised as the acknowledgement: it is now the tracked mail behind it, still Sent.
    ack_link = client.get(f"{API}/activities/{ack['id']}/link", headers=admin.headers).json()
    assert ack_link["tracked_id"] is not None
    assert client.get(f"{API}/activities/{ack['id']}", headers=admin.headers).json()["status"] == "Sent"
    assert queue["id"] in [p["party_id"] for p in parties(sent, "sender")]
