"""Email-to-case through the API and the tracking pipeline: the active rule of a support queue turns a
customer's mail into a routed case with an acknowledgement waiting to be sent, adds replies to their case,
reopens or replaces a resolved one, and never loops: no case, contact or acknowledgement for auto-replies and
bulk mail, acknowledgements limited per sender and day, nothing done twice on a rerun. The rules themselves
are for administrators and refuse faulty conditions when saved."""

import mailbox as stdlib_mailbox
import uuid
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update

from crm_core.db.types import utcnow
from crm_core.models import CaseResolution
from crm_core.security import secrets
from crm_core.security.secrets import Keyring
from mailbridge.tracking import import_local
from tests.api import created, problem
from tests.mailbridge.conftest import Mailbox as DovecotAccount
from tests.mailbridge.tracking_fixtures import TEST_KEY, append, contact, emails, mail, parties, sync
from tests.org import OrgBuilder, TestUser

R = "/api/v1/case-creation-rules"
SUPPORT = "support@contoso.example"
TODAY = utcnow().date()


@dataclass
class Desk:
    """The support queue, its mailbox (on Dovecot, or fed from a Maildir the test writes) and its rule."""

    queue: dict[str, Any]
    box_id: uuid.UUID
    maildir: Path
    rule: dict[str, Any] | None = None

    @property
    def id(self) -> uuid.UUID:  # what tracking_fixtures.sync reads
        return self.box_id


def _desk(client, admin: TestUser, session_factory, tmp_path: Path, account: DovecotAccount | None = None,
          address: str = SUPPORT, **rule: Any) -> Desk:
    secrets.install(session_factory, Keyring(TEST_KEY))
    queue = created(client, admin, "queues", {"name": f"Support {uuid.uuid4().hex[:4]}", "email_address": address})
    profile = created(client, admin, "email-server-profiles", {
        "name": f"Mail {uuid.uuid4().hex[:6]}", "incoming_host": account.server.host if account else "127.0.0.1",
        "incoming_port": account.server.port if account else None, "incoming_security": "plain"})
    box = created(client, admin, "mailboxes", {
        "email_address": address, "regarding_type": "queue", "regarding_id": queue["id"],
        "server_profile_id": profile["id"], "username": account.username if account else None,
        "password": account.password if account else "unused", "folders": ["INBOX"]})
    if account is not None:
        assert client.post(f"/api/v1/mailboxes/{box['id']}/approve", headers=admin.headers).status_code == 200
    tmp_path.mkdir(parents=True, exist_ok=True)
    desk = Desk(queue, uuid.UUID(box["id"]), tmp_path / "Maildir")
    if rule is not None:
        desk.rule = _rule(client, admin, queue, **rule)
    return desk


def _rule(client, admin: TestUser, queue: dict, items: list[dict] | None = None, activate: bool = True,
          **options: Any) -> dict:
    body = {"name": "Support mail", "queue_id": queue["id"], "items": items if items is not None else [{}],
            **options}
    rule = created(client, admin, "case-creation-rules", body)
    if activate:
        r = client.post(f"{R}/{rule['id']}/activate", headers=admin.headers)
        assert r.status_code == 200, r.text
        rule = r.json()
    return rule


def _receive(session_factory, desk: Desk, *raws: bytes) -> None:
    """Delivers the mail to the desk's Maildir and imports it (what was imported before is skipped)."""
    store = stdlib_mailbox.Maildir(desk.maildir, create=True)
    for raw in raws:
        store.add(raw)
    import_local(session_factory, desk.box_id, desk.maildir)


def _cases(client, user: TestUser, **params: Any) -> list[dict]:
    r = client.get("/api/v1/cases", params={"limit": 500, **params}, headers=user.headers)
    assert r.status_code == 200, r.text
    return r.json()["items"]  # type: ignore[no-any-return]


def _decision(client, admin: TestUser, email: dict) -> dict:
    r = client.get(f"{R}/decisions", params={"email_id": email["id"]}, headers=admin.headers)
    assert r.status_code == 200, r.text
    [decision] = r.json()
    return decision  # type: ignore[no-any-return]


def _by_subject(client, user: TestUser) -> dict[str, dict]:
    return {e["subject"]: e for e in emails(client, user) if not e["direction_outgoing"]}


def _acks(client, user: TestUser) -> list[dict]:
    return [e for e in emails(client, user) if e["direction_outgoing"]]


def _customer(client, admin: TestUser, account_name: str, first: str, last: str, address: str) -> tuple[dict, dict]:
    account = created(client, admin, "accounts", {"name": account_name})
    person = created(client, admin, "contacts", {"first_name": first, "last_name": last, "email_address1": address,
                                                 "parent_account_id": account["id"]})
    return account, person


# --- the rule at work ------------------------------------------------------------------------------
def test_a_customer_mail_opens_a_routed_case_with_an_acknowledgement_once(
        client, admin: TestUser, session_factory, tmp_path: Path, mailbox: DovecotAccount) -> None:
    tier1 = created(client, admin, "queues", {"name": "Tier 1"})
    routing = created(client, admin, "routing-rules", {"name": "By origin", "items": [
        {"conditions": {"field": "origin_code", "op": "eq", "value": 2}, "queue_id": tier1["id"]}]})
    assert client.post(f"/api/v1/routing-rules/{routing['id']}/activate", headers=admin.headers).status_code == 200
    desk = _desk(client, admin, session_factory, tmp_path, mailbox, send_acknowledgement=True, items=[
        {"name": "Urgent", "conditions": {"field": "subject", "op": "contains", "value": "URGENT"},
         "priority_code": 1, "case_type_code": 2},
        {"name": "Everything else", "priority_code": 3}])
    account, jane = _customer(client, admin, "Contoso", "Jane", "Doe", "jane@customer.example")
    first_id = "<printer-1@customer.example>"
    append(mailbox, mail(sender="Jane Doe <jane@customer.example>", to=SUPPORT, subject="Re: urgent: printer on fire",
                         message_id=first_id))

    summary = sync(session_factory, desk)

    assert summary.tracked == 1
    [case] = _cases(client, admin)
    assert (case["title"], case["origin_code"], case["priority_code"], case["case_type_code"]) == (
        "urgent: printer on fire", 2, 1, 2)
    assert (case["customer_type"], case["customer_id"], case["primary_contact_id"]) == (
        "account", account["id"], jane["id"])
    assert case["queue_id"] == tier1["id"]  # routed by the active routing rule
    incoming = _by_subject(client, admin)["Re: urgent: printer on fire"]
    assert (incoming["regarding_type"], incoming["regarding_id"]) == ("case", case["id"])
    [ack] = _acks(client, admin)
    assert (ack["status"], ack["regarding_id"]) == ("Pending Send", case["id"])
    assert ack["in_reply_to"] == first_id.strip("<>")
    assert ack["subject"] == f"We received your request: urgent: printer on fire ({case['case_number']})"
    assert "Dear Jane Doe" in ack["body_text"]
    assert [(p["party_type"], p["party_id"]) for p in parties(ack, "to")] == [("contact", jane["id"])]
    assert [(p["party_type"], p["party_id"]) for p in parties(ack, "sender")] == [("queue", desk.queue["id"])]
    assert ack["owner_id"] == str(admin.id)  # the queue's owner
    decision = _decision(client, admin, incoming)
    assert (decision["outcome"], decision["case_id"], decision["acknowledgement"], decision["acknowledgement_id"]) == (
        "created", case["id"], "queued", ack["id"])
    assert decision["item_id"] == desk.rule["items"][0]["id"]  # type: ignore[index]
    trail = client.get(f"/api/v1/activities/{incoming['id']}/audit", headers=admin.headers).json()
    assert any(k.startswith("case_rule.") for entry in trail for k in entry["changes"])

    # A rerun decides nothing twice; a reply joins the open case.
    assert sync(session_factory, desk).tracked == 0
    append(mailbox, mail(sender="jane@customer.example", to=SUPPORT, subject="Re: urgent: printer on fire",
                         body="It is still burning.", headers={"In-Reply-To": first_id}))
    assert sync(session_factory, desk).tracked == 1
    assert len(_cases(client, admin)) == 1 and len(_acks(client, admin)) == 1
    reply = next(e for e in emails(client, admin) if e["body_text"] and "still burning" in e["body_text"])
    assert reply["regarding_id"] == case["id"]
    assert _decision(client, admin, reply)["outcome"] == "added"


def test_the_first_matching_item_decides_and_no_match_opens_nothing(client, admin: TestUser, session_factory,
                                                                   tmp_path: Path) -> None:
    desk = _desk(client, admin, session_factory, tmp_path, items=[
        {"conditions": {"all": [{"field": "sender_domain", "op": "eq", "value": "customer.example"},
                                {"field": "to", "op": "includes_queue"}]}, "priority_code": 1},
        {"conditions": {"field": "known_customer", "op": "eq", "value": True}, "priority_code": 3}])
    _customer(client, admin, "Contoso", "Jane", "Doe", "jane@customer.example")
    _customer(client, admin, "Fabrikam", "Joe", "Bloggs", "joe@fabrikam.example")
    _receive(session_factory, desk,
             mail(sender="jane@customer.example", to=SUPPORT, subject="Direct"),
             mail(sender="jane@customer.example", to="sales@contoso.example", cc=SUPPORT, subject="Copied"),
             mail(sender="joe@fabrikam.example", to=SUPPORT, subject="From Fabrikam"))
    assert {c["title"]: c["priority_code"] for c in _cases(client, admin)} == {
        "Direct": 1, "Copied": 3, "From Fabrikam": 3}

    strict = _desk(client, admin, session_factory, tmp_path / "other", address="help@contoso.example", items=[
        {"conditions": {"field": "subject", "op": "starts_with", "value": "[ticket]"}}])
    client.post(f"{R}/{desk.rule['id']}/deactivate", headers=admin.headers)  # type: ignore[index]
    _receive(session_factory, strict, mail(sender="jane@customer.example", to="help@contoso.example",
                                           subject="Just saying hi"))
    assert len(_cases(client, admin)) == 3
    decision = _decision(client, admin, _by_subject(client, admin)["Just saying hi"])
    assert (decision["outcome"], decision["reason"], decision["case_id"]) == ("skipped", "no_item_matched", None)


def test_unknown_senders_become_contacts_only_when_the_rule_allows(client, admin: TestUser, session_factory,
                                                                  tmp_path: Path) -> None:
    desk = _desk(client, admin, session_factory, tmp_path, send_acknowledgement=True)
    _receive(session_factory, desk, mail(sender="Ann Smith <ann@newcomer.example>", to=SUPPORT, subject="Hello?"))
    assert _cases(client, admin) == [] and _acks(client, admin) == []
    assert client.get("/api/v1/contacts", headers=admin.headers).json()["items"] == []
    assert _decision(client, admin, _by_subject(client, admin)["Hello?"])["reason"] == "unknown_sender"

    assert client.post(f"{R}/{desk.rule['id']}/deactivate", headers=admin.headers).status_code == 200  # type: ignore[index]
    r = client.patch(f"{R}/{desk.rule['id']}", json={"allow_unknown_sender": True}, headers=admin.headers)  # type: ignore[index]
    assert r.status_code == 200, r.text
    assert client.post(f"{R}/{desk.rule['id']}/activate", headers=admin.headers).status_code == 200  # type: ignore[index]
    _receive(session_factory, desk, mail(sender="Bob Stone <bob@newcomer.example>", to=SUPPORT, subject="Help!"))

    [bob] = client.get("/api/v1/contacts", headers=admin.headers).json()["items"]
    assert (bob["first_name"], bob["last_name"], bob["email_address1"]) == ("Bob", "Stone", "bob@newcomer.example")
    [case] = _cases(client, admin)
    assert (case["customer_type"], case["customer_id"], case["title"]) == ("contact", bob["id"], "Help!")
    incoming = _by_subject(client, admin)["Help!"]
    assert [(p["party_type"], p["party_id"]) for p in parties(incoming, "sender")] == [("contact", bob["id"])]
    [ack] = _acks(client, admin)
    assert [p["party_id"] for p in parties(ack, "to")] == [bob["id"]]


def test_only_customers_with_an_active_contract_when_the_rule_checks(client, admin: TestUser, session_factory,
                                                                    tmp_path: Path) -> None:
    desk = _desk(client, admin, session_factory, tmp_path, check_active_contract=True, allow_unknown_sender=True)
    covered, _ = _customer(client, admin, "Contoso", "Jane", "Doe", "jane@customer.example")
    _customer(client, admin, "Fabrikam", "Joe", "Bloggs", "joe@fabrikam.example")
    template = created(client, admin, "contract-templates", {"name": "Coverage", "abbreviation": "COV",
                                                              "allotment_type": 3})
    contract = created(client, admin, "contracts", {
        "template_id": template["id"], "title": "Premier", "currency_code": "EUR", "customer_type": "account",
        "customer_id": covered["id"], "active_on": str(TODAY - timedelta(days=5)),
        "expires_on": str(TODAY + timedelta(days=300))})
    line = client.post(f"/api/v1/contracts/{contract['id']}/lines", json={"title": "Support"}, headers=admin.headers)
    assert line.status_code == 201, line.text
    r = client.post(f"/api/v1/contracts/{contract['id']}/invoice", headers=admin.headers)
    assert r.status_code == 200 and r.json()["state"] == "Active", r.text

    _receive(session_factory, desk, mail(sender="jane@customer.example", to=SUPPORT, subject="Covered"),
             mail(sender="joe@fabrikam.example", to=SUPPORT, subject="Not covered"),
             mail(sender="new@nowhere.example", to=SUPPORT, subject="Stranger"))

    assert [c["title"] for c in _cases(client, admin)] == ["Covered"]
    mails = _by_subject(client, admin)
    assert _decision(client, admin, mails["Not covered"])["reason"] == "no_active_contract"
    assert _decision(client, admin, mails["Stranger"])["reason"] == "no_active_contract"
    assert len(client.get("/api/v1/contacts", headers=admin.headers).json()["items"]) == 2  # no junk contact


def test_machine_mail_and_our_own_mail_get_nothing(client, admin: TestUser, org: OrgBuilder, session_factory,
                                                  tmp_path: Path) -> None:
    desk = _desk(client, admin, session_factory, tmp_path, allow_unknown_sender=True, send_acknowledgement=True)
    contact(client, admin, "Jane", "Doe", "jane@customer.example")
    colleague = org.user("agent@contoso.example", ["Customer Service Representative"])
    _receive(session_factory, desk,
             mail(sender="robot@elsewhere.example", to=SUPPORT, subject="Out of office",
                  headers={"Auto-Submitted": "auto-replied"}),
             mail(sender="jane@customer.example", to=SUPPORT, subject="Vacation", headers={"X-Autoreply": "yes"}),
             mail(sender="news@lists.example", to=SUPPORT, subject="Newsletter", headers={"List-Id": "<n.lists>"}),
             mail(sender="jane@customer.example", to=SUPPORT, subject="Offers", headers={"Precedence": "bulk"}),
             mail(sender=colleague.email, to=SUPPORT, subject="Internal note"))

    assert _cases(client, admin) == [] and _acks(client, admin) == []
    assert len(client.get("/api/v1/contacts", headers=admin.headers).json()["items"]) == 1
    reasons = {s: _decision(client, admin, e)["reason"] for s, e in _by_subject(client, admin).items()}
    assert reasons == {"Out of office": "auto_reply", "Vacation": "auto_reply", "Newsletter": "bulk",
                       "Offers": "bulk", "Internal note": "internal_sender"}


def test_acknowledgements_are_limited_per_sender_and_day(client, admin: TestUser, session_factory,
                                                         tmp_path: Path) -> None:
    desk = _desk(client, admin, session_factory, tmp_path, send_acknowledgement=True)
    contact(client, admin, "Jane", "Doe", "jane@customer.example")
    contact(client, admin, "Joe", "Bloggs", "joe@customer.example")
    _receive(session_factory, desk, *(mail(sender="jane@customer.example", to=SUPPORT, subject=f"Issue {i}")
                                      for i in range(1, 5)))
    _receive(session_factory, desk, mail(sender="joe@customer.example", to=SUPPORT, subject="Joe's issue"))

    assert len(_cases(client, admin)) == 5
    acks = _acks(client, admin)
    assert sorted(p["address"] for a in acks for p in parties(a, "to")) == ["jane@customer.example"] * 3 + [
        "joe@customer.example"]
    decisions = [_decision(client, admin, e) for e in _by_subject(client, admin).values()]
    assert sorted(d["acknowledgement"] for d in decisions) == ["limit_reached"] + ["queued"] * 4


@pytest.mark.parametrize(("policy", "resolved_days_ago", "reopened"),
                         [("reopen", 0, True), ("new_case", 0, False), ("reopen", 10, False)])
def test_a_reply_to_a_resolved_case(client, admin: TestUser, session_factory, tmp_path: Path, policy: str,
                                    resolved_days_ago: int, reopened: bool) -> None:
    desk = _desk(client, admin, session_factory, tmp_path, reply_to_resolved=policy, resolved_since_days=7)
    contact(client, admin, "Jane", "Doe", "jane@customer.example")
    _receive(session_factory, desk, mail(sender="jane@customer.example", to=SUPPORT, subject="Broken screen",
                                         message_id="<screen-1@customer.example>"))
    [case] = _cases(client, admin)
    r = client.post(f"/api/v1/cases/{case['id']}/resolve", json={"subject": "Replaced", "time_spent_minutes": 30},
                    headers=admin.headers)
    assert r.status_code == 200, r.text
    if resolved_days_ago:
        with session_factory() as session:
            session.execute(update(CaseResolution).where(CaseResolution.case_id == uuid.UUID(case["id"]))
                            .values(resolved_on=utcnow() - timedelta(days=resolved_days_ago)))
            session.commit()

    _receive(session_factory, desk, mail(sender="jane@customer.example", to=SUPPORT, subject="Re: Broken screen",
                                         headers={"In-Reply-To": "<screen-1@customer.example>"}))

    reply = _by_subject(client, admin)["Re: Broken screen"]
    cases = {c["id"]: c for c in _cases(client, admin)}
    if reopened:
        assert list(cases) == [case["id"]] and cases[case["id"]]["state"] == "Active"
        assert reply["regarding_id"] == case["id"]
        assert _decision(client, admin, reply)["outcome"] == "reopened"
    else:
        assert cases[case["id"]]["state"] == "Resolved"
        [new] = [c for c in cases.values() if c["id"] != case["id"]]
        assert (new["title"], reply["regarding_id"]) == ("Broken screen", new["id"])
        assert _decision(client, admin, reply)["outcome"] == "created"


# --- the rules themselves --------------------------------------------------------------------------
@pytest.mark.parametrize(("body", "field"), [
    ({"items": [{"conditions": {"field": "body", "op": "eq", "value": "x"}}]}, "items[0].conditions.field"),
    ({"items": [{"conditions": {"all": [{"field": "subject", "op": "under", "value": "x"}]}}]},
     "items[0].conditions.all[0].op"),
    ({"items": [{"conditions": {"field": "to", "op": "contains", "value": "not an address"}}]},
     "items[0].conditions.value"),
    ({"items": [{"conditions": {"field": "known_customer", "op": "eq", "value": "yes"}}]},
     "items[0].conditions.value"),
    ({"items": [{"conditions": {"field": "to", "op": "includes_queue", "value": "x"}}]}, "items[0].conditions.value"),
    ({"items": [{}, {"priority_code": 7}]}, "items[1].priority_code"),
    ({"items": [{"assign_to_type": "user"}]}, "items[0].assign_to_type"),
    ({"acknowledgement_subject": "Case {case_id}"}, "acknowledgement_subject"),
    ({"acknowledgement_body": "Dear {customer_name"}, "acknowledgement_body"),
    ({"queue_id": str(uuid.uuid4())}, "queue_id"),
])
def test_faulty_rules_are_refused_when_saved(client, admin: TestUser, body: dict, field: str) -> None:
    queue = created(client, admin, "queues", {"name": "Support"})
    r = client.post(R, json={"name": "Support mail", "queue_id": queue["id"], **body}, headers=admin.headers)
    problem(r, 422, field)


def test_one_active_rule_per_queue_and_an_active_rule_is_read_only(client, admin: TestUser) -> None:
    support, billing = (created(client, admin, "queues", {"name": n}) for n in ("Support", "Billing"))
    empty = _rule(client, admin, support, items=[], activate=False)
    problem(client.post(f"{R}/{empty['id']}/activate", headers=admin.headers), 422, "items")
    first, second = _rule(client, admin, support), _rule(client, admin, support, name="Second")
    other = _rule(client, admin, billing)
    states = {r["id"]: r["state"] for r in client.get(R, headers=admin.headers).json()["items"]}
    assert (states[first["id"]], states[second["id"]], states[other["id"]]) == ("Draft", "Active", "Active")
    assert second["acknowledgement_limit"] == 3 and second["reply_to_resolved"] == "reopen"
    problem(client.patch(f"{R}/{second['id']}", json={"name": "Renamed"}, headers=admin.headers), 409)
    problem(client.delete(f"{R}/{second['id']}", headers=admin.headers), 409)
    r = client.patch(f"{R}/{first['id']}", json={"items": [{"name": "Only", "case_type_code": 1}]},
                     headers=admin.headers)
    assert [(i["sequence_number"], i["name"], i["case_type_code"]) for i in r.json()["items"]] == [(1, "Only", 1)]


def test_case_creation_rules_are_for_admins(client, admin: TestUser, org: OrgBuilder) -> None:
    agent = org.user("agent@contoso.example", ["Customer Service Representative"])
    queue = created(client, admin, "queues", {"name": "Support"})
    problem(client.get(R, headers=agent.headers), 403)
    problem(client.post(R, json={"name": "Mine", "queue_id": queue["id"]}, headers=agent.headers), 403)
    problem(client.get(f"{R}/decisions", headers=agent.headers), 403)
    assert client.get(f"{R}/decisions", headers=admin.headers).json() == []
