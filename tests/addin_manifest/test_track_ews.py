"""Tracking the mail in view from the add-in when the user's CRM mailbox is on Exchange Server (EWS): the pane sends
Office's REST item id (convertToRestId), the server turns it back into the EWS id and reads the MIME with GetItem
from the fake Exchange server, through exchangelib's own HTTP path and the mailbox's NTLM login. The activity is
the one an EWS sync makes: the sync that follows only adds a sighting. A mail the mailbox no longer holds is 404;
Exchange throttling us for long, or EWS switched off for the mailbox, is a problem response that says so. Signed in
with the development mode's CRM tokens, as test_track_mail.py."""

import base64
import email.utils
import os
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from addin_manifest.auth.principal import AddinAuth
from crm_core.models import MailSighting
from crm_core.security import secrets
from crm_core.security.secrets import Keyring
from mailbridge.tracking import TrackingOptions, sync_mailbox
from tests.api import created, problem
from tests.fakes.ews import EwsFake
from tests.fakes.ews import fixtures as ews_fixtures
from tests.mailbridge.ews_rep import EwsRep
from tests.mailbridge.tls import TestCertificate
from tests.mailbridge.tracking_fixtures import TEST_KEY, emails, mail, parties
from tests.org import OrgBuilder, TestUser

ews, ews_certificate = ews_fixtures.ews, ews_fixtures.ews_certificate  # fixtures: a fresh fake per test
SENDER = "jane@fabrikam.example"


class Rep(EwsRep):
    """A salesperson: his CRM user, his mailbox on the fake Exchange server, and its approved CRM mailbox on an
    EWS email server profile (NTLM with his own login)."""

    def deliver(self, subject: str, *, cc: str | None = None, body: str | None = None) -> tuple[str, str]:
        """A mail from Jane in the Inbox; its EWS item id and its Message-ID."""
        message_id = email.utils.make_msgid(domain="fabrikam.example")
        raw = mail(
            sender=f"Jane Doe <{SENDER}>", to=self.address, cc=cc, subject=subject, body=body, message_id=message_id
        )
        while True:
            item_id = self.box.add_message("inbox", raw)
            # Exchange's ids are standard base64: keep one holding "/" or "+", which the REST form replaces.
            if "/" in item_id or "+" in item_id:
                return item_id, message_id
            self.box.delete(item_id)


def rest_id(ews_id: str) -> str:
    """Office.context.mailbox.convertToRestId(ews_id, v2_0): base64's "/" and "+" made URL-safe, padding kept."""
    return ews_id.replace("/", "-").replace("+", "_")


@pytest.fixture
def rep(
    client: Any,
    admin: TestUser,
    org: OrgBuilder,
    session_factory: sessionmaker[Session],
    ews: EwsFake,
    ews_certificate: TestCertificate,
) -> Iterator[Rep]:
    secrets.install(session_factory, Keyring(TEST_KEY))  # the key the API sealed the mailbox's password with
    client.app.state.addin_auth = AddinAuth(
        validator=None, dev_tokens=True, ssl_context=ews_certificate.client_context()
    )
    yield Rep(client, admin, org, ews)
    del client.app.state.addin_auth


def _track(client: Any, rep: Rep, item_id: str | None, message_id: str, **body: Any) -> Any:
    return client.post(
        "/addin/api/track",
        json={"item_id": item_id, "internet_message_id": message_id, **body},
        headers=rep.user.headers,
    )


def _sightings(session_factory: sessionmaker[Session]) -> int:
    with session_factory() as session:
        return int(session.scalar(select(func.count()).select_from(MailSighting)) or 0)


def test_the_mail_is_read_from_exchange_by_its_rest_id_and_sync_then_finds_it(
    client: Any,
    admin: TestUser,
    rep: Rep,
    ews: EwsFake,
    ews_certificate: TestCertificate,
    session_factory: sessionmaker[Session],
) -> None:
    jane = created(client, admin, "contacts", {"first_name": "Jane", "last_name": "Doe", "email_address1": SENDER})
    deal = created(
        client,
        admin,
        "opportunities",
        {"name": "40 seats", "currency_code": "USD", "customer_type": "contact", "customer_id": jane["id"]},
    )
    item_id, message_id = rep.deliver(
        "Quote for 40 seats", cc="Ola <ola@fabrikam.example>", body="Could you quote 40 seats by Friday?"
    )

    r = _track(client, rep, rest_id(item_id), message_id, regarding={"type": "opportunity", "id": deal["id"]})

    assert r.status_code == 201, r.text
    out = r.json()
    assert out["created"] is True and out["mailbox_id"] == str(rep.id)
    assert out["regarding"] == {"type": "opportunity", "id": deal["id"], "name": "40 seats"}
    assert "GetItem" in ews.requests  # read from Exchange, not taken from the pane
    [activity] = emails(client, rep.user)
    assert activity["id"] == out["email_id"] and activity["regarding_id"] == deal["id"]
    assert activity["subject"] == "Quote for 40 seats"
    assert "Could you quote 40 seats by Friday?" in activity["body_text"]
    assert [(p["party_type"], p["party_id"]) for p in parties(activity, "sender")] == [("contact", jane["id"])]
    assert [(p["party_type"], p["party_id"]) for p in parties(activity, "to")] == [("user", str(rep.user.id))]
    assert [p["address"] for p in parties(activity, "cc")] == ["ola@fabrikam.example"]

    again = _track(client, rep, rest_id(item_id), message_id, regarding={"type": "opportunity", "id": deal["id"]})
    assert again.status_code == 200, again.text
    assert again.json()["email_id"] == out["email_id"] and again.json()["created"] is False

    seen = _sightings(session_factory)
    summary = sync_mailbox(
        session_factory, rep.id, TrackingOptions(timeout=10, ssl_context=ews_certificate.client_context())
    )
    assert summary.tracked == 0 and summary.duplicates == 1  # the same mail: one activity, one more sighting
    assert _sightings(session_factory) == seen + 1
    assert [e["id"] for e in emails(client, rep.user)] == [out["email_id"]]


def test_an_ews_id_is_accepted_as_it_is(client: Any, rep: Rep) -> None:
    item_id, message_id = rep.deliver("Sent with the EWS id")
    r = _track(client, rep, item_id, message_id)
    assert r.status_code == 201, r.text
    assert [e["subject"] for e in emails(client, rep.user)] == ["Sent with the EWS id"]


def test_a_mail_the_mailbox_no_longer_holds_is_not_found(client: Any, rep: Rep) -> None:
    item_id, message_id = rep.deliver("Deleted before it was tracked")
    rep.box.delete(item_id)

    body = problem(_track(client, rep, rest_id(item_id), message_id), 404)

    assert body["title"] == "Mail not found in the mailbox"
    assert rep.address in body["detail"] and "moved or deleted" in body["detail"]
    unknown = base64.b64encode(b"\x00\x03\x24\x00" + os.urandom(104)).decode()  # shaped as Exchange's, in no mailbox
    never_there = problem(_track(client, rep, rest_id(unknown), "<never-there@fabrikam.example>"), 404)
    assert never_there["title"] == "Mail not found in the mailbox"
    assert "item_id" in problem(_track(client, rep, None, message_id), 404)["detail"]
    assert emails(client, rep.user) == []


def test_a_short_back_off_is_waited_out(client: Any, rep: Rep, ews: EwsFake) -> None:
    item_id, message_id = rep.deliver("Read after a short wait")
    ews.busy(1, back_off_ms=200, operation="GetItem")

    r = _track(client, rep, rest_id(item_id), message_id)

    assert r.status_code == 201, r.text
    assert ews.requests.count("GetItem") == 2  # refused once, then read


def test_exchange_throttling_us_for_long_is_a_clear_problem(client: Any, rep: Rep, ews: EwsFake) -> None:
    item_id, message_id = rep.deliver("Throttled")
    ews.busy(1, back_off_ms=120_000, operation="GetItem")  # longer than a request may wait

    body = problem(_track(client, rep, rest_id(item_id), message_id), 502)

    assert body["title"] == "Mail server error" and body["reason"] == "throttled"
    assert "throttling" in body["detail"] and "120 s" in body["detail"]
    assert emails(client, rep.user) == []
    assert _track(client, rep, rest_id(item_id), message_id).status_code == 201  # once Exchange lets us in


def test_ews_switched_off_for_the_mailbox_is_a_clear_problem(client: Any, rep: Rep, ews: EwsFake) -> None:
    item_id, message_id = rep.deliver("EWS is off")
    ews.disable_ews(rep.address)  # Set-CASMailbox -EwsEnabled $false

    body = problem(_track(client, rep, rest_id(item_id), message_id), 502)

    assert body["reason"] == "ews_disabled" and "EwsEnabled" in body["detail"]
    assert emails(client, rep.user) == []
