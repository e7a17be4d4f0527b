"""Header injection in outgoing mail: a subject, a recipient's address or display name, a sender's name or a
template value carrying CR/LF (or another header trick) never adds a header or a recipient on the wire. The API
refuses what cannot be a header (422 naming the field) or folds it to one line where RFC 5322 says so; what
reaches the SMTP server (aiosmtpd with STARTTLS and AUTH, tests/mailbridge) is read back and parsed."""

from collections.abc import Iterator
from email import policy
from email.parser import BytesParser
from typing import Any

import pytest

from mailbridge.outgoing import OutgoingOptions, send_pending
from tests.api import created, problem
from tests.mailbridge.conftest import Mailbox as DovecotAccount
from tests.mailbridge.conftest import SmtpServer, running_smtp
from tests.mailbridge.tls import TestCertificate
from tests.mailbridge.tracking_fixtures import contact, crm_mailbox
from tests.org import OrgBuilder, TestUser

API = "/api/v1"
EVIL = "victim@evil.example"
TRICKS = [
    f"Quote\r\nBcc: {EVIL}",
    f"Quote\nBcc: {EVIL}",
    f"Quote\rBcc: {EVIL}",
    f"Quote\r\n\r\n<html>{EVIL}",
    f"Quote\u2028Bcc: {EVIL}",
    f"Quote\x85Bcc: {EVIL}",
    f"Quote\x00Bcc: {EVIL}",
]


@pytest.fixture
def smtp(smtp_certificate: TestCertificate, mailbox: DovecotAccount) -> Iterator[SmtpServer]:
    with running_smtp(smtp_certificate, mailbox.username, mailbox.password) as server:
        yield server


@pytest.fixture
def rep_box(
    client, admin: TestUser, org: OrgBuilder, session_factory, mailbox: DovecotAccount, smtp: SmtpServer
) -> Any:
    box = crm_mailbox(client, admin, org, session_factory, mailbox, incoming_filter="all")
    profile_id = client.get(f"{API}/mailboxes/{box.id}", headers=admin.headers).json()["server_profile_id"]
    r = client.patch(
        f"{API}/email-server-profiles/{profile_id}",
        json={"outgoing_host": smtp.host, "outgoing_port": smtp.port, "outgoing_security": "starttls"},
        headers=admin.headers,
    )
    assert r.status_code == 200, r.text
    assert (
        client.patch(f"{API}/mailboxes/{box.id}", json={"outgoing_enabled": True}, headers=admin.headers).status_code
        == 200
    )
    return box


def _draft(client, user: TestUser, **body: Any) -> Any:
    return client.post(
        f"{API}/activities", json={"activity_type": "email", "body_text": "Offer.", **body}, headers=user.headers
    )


def _send(client, user: TestUser, session_factory, smtp: SmtpServer, draft_id: str) -> tuple[bytes, Any]:
    """Sends the draft through the rep's SMTP server; the header block as received and the parsed message."""
    sent = client.post(f"{API}/activities/{draft_id}/send", headers=user.headers)
    assert sent.status_code == 200, sent.text
    summary = send_pending(session_factory, OutgoingOptions(ssl_context=smtp.certificate.client_context(), timeout=10))
    assert (summary.sent, summary.failed) == (1, 0), summary
    [got] = smtp.received
    assert EVIL not in got["rcpt_tos"]
    head = got["content"].split(b"\r\n\r\n", 1)[0]
    assert not any(line.lower().startswith((b"bcc:", b"cc:")) for line in head.split(b"\r\n")), head
    return head, BytesParser(policy=policy.default).parsebytes(got["content"])


@pytest.mark.parametrize("subject", TRICKS[:-1])
def test_a_line_break_in_a_subject_is_folded_to_a_space_never_a_header(
    client, session_factory, rep_box, smtp: SmtpServer, subject: str
) -> None:
    """The subject is kept as written; on the wire it is one unstructured header line (RFC 5322 2.2.1)."""
    jane = contact(client, rep_box.user, "Jane", "Doe", "jane@fabrikam.example")
    r = _draft(
        client, rep_box.user, subject=subject, parties=[{"role": "to", "party_type": "contact", "party_id": jane["id"]}]
    )
    assert r.status_code == 201, r.text
    head, message = _send(client, rep_box.user, session_factory, smtp, r.json()["id"])
    [line] = [h for h in head.split(b"\r\n") if h.startswith(b"Subject:")]
    assert EVIL.encode() in line  # the text is there, inside the subject
    assert message["Subject"].startswith("Quote") and not any(c in message["Subject"] for c in "\r\n\u2028\x85")
    assert [k for k in message if k.lower() == "subject"] == ["Subject"] and message.get_payload() != ""


def test_a_nul_in_a_subject_is_refused(client, rep_box) -> None:
    problem(_draft(client, rep_box.user, subject=TRICKS[-1]), 422, "subject")


@pytest.mark.parametrize(
    "address",
    [
        f"jane@fabrikam.example\r\nBcc: {EVIL}",
        f"jane@fabrikam.example, {EVIL}",
        f"Jane <jane@fabrikam.example>\nCc: {EVIL}",
        f"jane@fabrikam.example>\r\nBcc: <{EVIL}",
        f'"x\r\nBcc: {EVIL}"@evil.example',
    ],
)
def test_a_recipient_address_with_a_header_or_a_second_address_is_refused(client, rep_box, address: str) -> None:
    problem(
        _draft(client, rep_box.user, subject="Quote", parties=[{"role": "to", "address": address}]),
        422,
        "parties[0].address",
    )


def test_surrounding_white_space_of_an_address_is_stripped(client, rep_box) -> None:
    r = _draft(client, rep_box.user, subject="Quote", parties=[{"role": "to", "address": "jane@fabrikam.example\r\n"}])
    assert r.status_code == 201 and r.json()["parties"][0]["address"] == "jane@fabrikam.example", r.text


def test_display_names_and_template_values_cannot_add_a_header(
    client, session_factory, admin: TestUser, rep_box, smtp: SmtpServer
) -> None:
    """A recipient's name never reaches the To header (addresses only); the sender's name is encoded in From;
    a template value with a line break renders into one subject line (tests/crm_core/test_email_templates.py)."""
    r = client.patch(f"{API}/users/{rep_box.user.id}", json={"full_name": f"Rep\r\nBcc: {EVIL}"}, headers=admin.headers)
    assert r.status_code == 200, r.text  # accepted as a name; folded to one line when it becomes a header
    jane = contact(
        client, rep_box.user, "Jane\r\nBcc: victim@evil.example", f"Doe\nCc: {EVIL}", "jane@fabrikam.example"
    )
    template = created(
        client,
        admin,
        "email-templates",
        {"name": "Quote", "subject": "Quote for {{contact.last_name}}", "body_text": "Dear {{contact.first_name}}"},
    )
    draft = client.post(
        f"{API}/email-templates/{template['id']}/instantiate",
        json={"record_type": "contact", "record_id": jane["id"]},
        headers=rep_box.user.headers,
    )
    assert draft.status_code == 201, draft.text
    _head, message = _send(client, rep_box.user, session_factory, smtp, draft.json()["id"])
    assert message["To"].addresses[0].addr_spec == "jane@fabrikam.example"
    assert (message["From"].addresses[0].display_name, message["From"].addresses[0].addr_spec) == (
        f"Rep Bcc: {EVIL}",
        rep_box.address,
    )
    assert message["Subject"].startswith(f"Quote for Doe Cc: {EVIL}")


@pytest.mark.parametrize("field", ["in_reply_to", "message_id"])
def test_an_id_with_a_line_break_is_cut_to_its_message_id(client, session_factory, rep_box, smtp, field) -> None:
    """Message ids are normalised when saved (the first msg-id of the value): what follows a line break is gone."""
    to = [{"role": "to", "address": "jane@fabrikam.example"}]
    draft = _draft(client, rep_box.user, subject="Quote", parties=to, **{field: f"abc@x.example>\r\nBcc: <{EVIL}"})
    assert draft.status_code == 201 and draft.json()[field] == "abc@x.example", draft.text
    _head, message = _send(client, rep_box.user, session_factory, smtp, draft.json()["id"])
    header = {"in_reply_to": "In-Reply-To", "message_id": "Message-ID"}[field]
    assert message[header] == "<abc@x.example>"
