"""The demo's mail (workers/demo_mail.py), as its users find it through the API after `crm demo load`: the
rep's tracked emails against the demo's records, found by In-Reply-To and by tracking token, with their
parties resolved, an attachment and a sanitised HTML body; the Sent copy of a CRM email met once; and the
support queue's mail turned into a case by the queue's email-to-case rule."""

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from crm_core.db.unit_of_work import UnitOfWork
from crm_core.settings import Settings
from workers import demo, demo_data, demo_mail

API = "/api/v1"


@pytest.fixture
def loaded(session_factory: sessionmaker[Session], clean_db: Engine) -> demo.DemoResult:
    with UnitOfWork(session_factory) as uow:
        result = demo.load(uow)
    assert result is not None
    return result


class Demo:
    """The API as each demo user sees it, by his token."""

    def __init__(self, client: TestClient, loaded: demo.DemoResult) -> None:
        self.client = client
        self.tokens = {u.key: loaded.tokens[u.email] for u in demo_data.USERS}

    def get(self, who: str, path: str, **params: Any) -> Any:
        r = self.client.get(f"{API}/{path}", params=params, headers={"Authorization": f"Bearer {self.tokens[who]}"})
        assert r.status_code == 200, r.text
        return r.json()

    def items(self, who: str, collection: str, **params: Any) -> list[dict[str, Any]]:
        return self.get(who, collection, limit=500, **params)["items"]  # type: ignore[no-any-return]

    def emails(self, who: str) -> list[dict[str, Any]]:
        return self.items(who, "activities", activity_type="email")

    def link(self, who: str, email: dict[str, Any]) -> dict[str, Any]:
        return self.get(who, f"activities/{email['id']}/link")  # type: ignore[no-any-return]


@pytest.fixture
def api(settings: Settings, loaded: demo.DemoResult) -> Iterator[Demo]:
    from workers.app import create_app

    with TestClient(create_app(settings)) as client:
        yield Demo(client, loaded)


def _one(emails: list[dict[str, Any]], subject: str, outgoing: bool) -> dict[str, Any]:
    [found] = [e for e in emails if e["subject"] == subject and e["direction_outgoing"] is outgoing]
    return found


def _senders(email: dict[str, Any]) -> list[tuple[str, str]]:
    return [(p["party_type"], p["party_id"]) for p in email["parties"] if p["role"] == "sender"]


def _recipients(email: dict[str, Any]) -> list[tuple[str, str]]:
    return [(p["party_type"], p["party_id"]) for p in email["parties"] if p["role"] == "to"]


def test_the_reps_mail_is_tracked_against_the_demo_records(api: Demo) -> None:
    contacts = {c["email_address1"]: c for c in api.items("admin", "contacts")}
    accounts = {a["name"]: a for a in api.items("admin", "accounts")}
    leads = {le["subject"]: le for le in api.items("admin", "leads")}
    cycles = accounts["Adventure Works Cycles"]
    buyer = next(c for c in contacts.values() if c["parent_account_id"] == cycles["id"]
                 and c["id"] == cycles["primary_contact_id"])
    lucerne = leads["50 design workstations for the new office"]
    tom = next(u for u in api.items("admin", "users") if u["email"] == "tom.becker@contoso.com")
    mail = api.emails("sales")

    # The buyer answered the order confirmation the CRM sent: found by In-Reply-To, so about its account.
    order = _one(mail, demo_mail.ORDER_SUBJECT, outgoing=True)
    reply = _one(mail, f"RE: {demo_mail.ORDER_SUBJECT}", outgoing=False)
    assert reply["in_reply_to"] == order["message_id"]
    assert (reply["regarding_type"], reply["regarding_id"]) == ("account", cycles["id"])
    assert _senders(reply) == [("contact", buyer["id"])]
    assert _recipients(reply) == [("user", tom["id"])]
    link = api.link("sales", reply)
    assert (link["signal"], link["link_status"]) == ("in_reply_to", "linked")
    assert [(a["filename"], a["content_type"], a["stored"]) for a in link["attachments"]] == [
        ("PO-4471.csv", "text/csv", True)]
    # ...and Tom's answer from his Sent folder follows the thread.
    answer = _one(mail, f"RE: {demo_mail.ORDER_SUBJECT}", outgoing=True)
    assert answer["in_reply_to"] == reply["message_id"]
    assert (answer["regarding_type"], answer["regarding_id"]) == ("account", cycles["id"])
    assert _recipients(answer) == [("contact", buyer["id"])]

    # The lead answered the quote from a client that dropped In-Reply-To: the token in the subject found it.
    quote = _one(mail, demo_mail.QUOTE_SUBJECT, outgoing=True)
    token = quote["tracking_token"]
    assert token and token.startswith("CRM:")
    from_lead = _one(mail, f"RE: {demo_mail.QUOTE_SUBJECT} {token}", outgoing=False)
    assert from_lead["in_reply_to"] is None
    assert (from_lead["regarding_type"], from_lead["regarding_id"]) == ("lead", lucerne["id"])
    assert _senders(from_lead) == [("lead", lucerne["id"])]
    assert api.link("sales", from_lead)["signal"] == "token"
    # The copy of that quote in Tom's Sent folder is the email the CRM sent, met again, not a second one.
    assert [e["id"] for e in mail if e["subject"].startswith(demo_mail.QUOTE_SUBJECT)] == [quote["id"]]
    assert api.link("sales", quote)["tracked_id"] is not None

    # The evaluator's HTML mail: linked by its sender, its body safe to show.
    scorecard = _one(mail, "Our evaluation scorecard", outgoing=False)
    evaluator = contacts[next(p["address"] for p in scorecard["parties"] if p["role"] == "sender")]
    assert evaluator["parent_account_id"] == accounts["Proseware, Inc."]["id"]
    assert _senders(scorecard) == [("contact", evaluator["id"])]
    assert api.link("sales", scorecard)["signal"] == "address"
    html = scorecard["body_html"]
    assert "<table" in html and "Outlook integration" in html and 'href="https://www.proseware.com/evaluation"' in html
    for removed in ("<script", "onclick", "<style", "survey.proseware.com"):  # the tracking pixel too
        assert removed not in html
    assert "reference customers" in scorecard["body_text"]

    # Tom's mail is his: the activities are owned by him and seen in his unit, not in Sales West.
    tracked = [reply, answer, from_lead, scorecard]
    assert {e["owner_id"] for e in tracked} == {tom["id"]}
    assert not {e["id"] for e in tracked} & {e["id"] for e in api.emails("west")}


def test_the_support_queue_mail_opened_a_case(api: Demo) -> None:
    litware = next(a for a in api.items("admin", "accounts") if a["name"] == "Litware, Inc.")
    [queue] = [q for q in api.items("admin", "queues") if q["name"] == demo_mail.SUPPORT_QUEUE]
    assert queue["email_address"] == demo_mail.SUPPORT_ADDRESS
    # The queue's representative sees the case the rule opened, waiting in his queue.
    [case] = api.items("service", "cases")
    assert (case["title"], case["origin_code"]) == ("Cannot sign in to the admin portal", 2)  # origin: Email
    assert (case["customer_type"], case["customer_id"]) == ("account", litware["id"])
    assert case["queue_id"] == queue["id"]
    contact = next(c for c in api.items("service", "contacts") if c["id"] == case["primary_contact_id"])
    assert contact["parent_account_id"] == litware["id"]

    support = [e for e in api.emails("service") if "admin portal" in e["subject"]]
    assert len(support) == 2
    for email in support:
        assert (email["regarding_type"], email["regarding_id"]) == ("case", case["id"])
        assert _senders(email) == [("contact", contact["id"])]
        assert [p["address"] for p in email["parties"] if p["role"] == "to"] == [demo_mail.SUPPORT_ADDRESS]
    decisions = {d["email_id"]: d for d in api.get("admin", "case-creation-rules/decisions")}
    first, follow_up = sorted(support, key=lambda e: e["sent_on"])
    assert (decisions[first["id"]]["outcome"], decisions[first["id"]]["case_id"]) == ("created", case["id"])
    assert decisions[follow_up["id"]]["outcome"] == "added"
    # No acknowledgement went out or waits: the demo's mailboxes have no server to send through.
    assert [e for e in support if e["direction_outgoing"]] == []
    assert decisions[first["id"]]["acknowledgement"] == "off"

    # The administrator finds the mailboxes the demo set up, which hold no password and wait for approval.
    boxes = {m["email_address"]: m for m in api.items("admin", "mailboxes")}
    assert set(boxes) == {"tom.becker@contoso.com", demo_mail.SUPPORT_ADDRESS}
    assert (boxes[demo_mail.SUPPORT_ADDRESS]["regarding_type"], boxes[demo_mail.SUPPORT_ADDRESS]["regarding_id"]) \
        == ("queue", queue["id"])
    assert {(m["approval_status"], m["has_password"]) for m in boxes.values()} == {("pending", False)}
