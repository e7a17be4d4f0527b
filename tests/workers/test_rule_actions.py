"""Business rules' actions seen through the API: a webhook delivery enqueued, an email from a template sent
through a real SMTP server on loopback, and a failing action rolling its whole run back, recorded with why."""

from typing import Any

from mailbridge.outgoing import OutgoingOptions, send_pending
from tests.api import created
from tests.mailbridge.conftest import SMTP_PASSWORD, SMTP_USER, SmtpServer
from tests.org import OrgBuilder, TestUser
from tests.workers.rule_fixtures import (
    API,
    change,
    define_rule,
    read,
    run_events,
    runs_of,
)


def test_call_webhook_enqueues_a_delivery(client, admin: TestUser, session_factory) -> None:
    hook = created(
        client, admin, "webhooks", {"name": "ERP", "url": "https://93.184.215.14/hooks", "events": ["case.resolved"]}
    )
    rule = define_rule(
        client, admin, "account", {"type": "created"}, [{"type": "call_webhook", "webhook_id": hook["id"]}]
    )
    account = created(client, admin, "accounts", {"name": "Contoso"})
    run_events(session_factory)
    [delivery] = client.get(f"{API}/webhooks/{hook['id']}/deliveries", headers=admin.headers).json()
    assert (delivery["event_type"], delivery["record_id"], delivery["status"]) == (
        "rule.action",
        account["id"],
        "pending",
    )
    [run] = runs_of(client, admin, rule)
    assert run["actions"][0]["delivery_id"] == delivery["id"]


def test_a_failing_action_rolls_the_run_back_and_records_why(client, admin: TestUser, session_factory) -> None:
    queue = created(client, admin, "queues", {"name": "Old"})
    rule = define_rule(
        client,
        admin,
        "case",
        {"type": "created"},
        [
            {"type": "set_fields", "fields": {"description": "routed"}},
            {"type": "route_to_queue", "queue_id": queue["id"]},
        ],
    )
    r = client.post(f"{API}/queues/{queue['id']}/deactivate", headers=admin.headers)
    assert r.status_code == 200, r.text
    account = created(client, admin, "accounts", {"name": "Contoso"})
    case = created(
        client, admin, "cases", {"title": "Broken", "customer_type": "account", "customer_id": account["id"]}
    )
    assert run_events(session_factory).failed == 1
    assert read(client, admin, f"cases/{case['id']}")["description"] is None  # rolled back with the run
    [run] = runs_of(client, admin, rule)
    assert run["outcome"] == "failed" and "inactive" in run["error"]
    assert run["actions"] == [
        {"type": "set_fields", "fields": {"description": "routed"}, "rolled_back": True},
        {"type": "route_to_queue", "error": run["error"]},
    ]


def _sending_mailbox(client: Any, admin: TestUser, smtp: SmtpServer) -> None:
    """The administrator's own mailbox, sending through the SMTP server on loopback (STARTTLS and AUTH)."""
    profile = created(
        client,
        admin,
        "email-server-profiles",
        {
            "name": "Submission",
            "incoming_host": "127.0.0.1",
            "incoming_security": "plain",
            "outgoing_host": smtp.host,
            "outgoing_port": smtp.port,
            "outgoing_security": "starttls",
        },
    )
    box = created(
        client,
        admin,
        "mailboxes",
        {
            "email_address": admin.email,
            "regarding_type": "user",
            "regarding_id": str(admin.id),
            "server_profile_id": profile["id"],
            "username": SMTP_USER,
            "password": SMTP_PASSWORD,
        },
    )
    assert client.post(f"{API}/mailboxes/{box['id']}/approve", headers=admin.headers).status_code == 200
    change(client, admin, f"mailboxes/{box['id']}", {"outgoing_enabled": True})


def test_send_email_renders_the_template_and_mails_it_through_smtp(
    client, admin: TestUser, session_factory, smtp_server: SmtpServer
) -> None:
    _sending_mailbox(client, admin, smtp_server)
    template = created(
        client,
        admin,
        "email-templates",
        {
            "name": "Welcome",
            "target_entity": "contact",
            "subject": "Welcome, {{contact.first_name}}",
            "body_text": "Hello {{contact.first_name|there}}, thanks for your interest.",
        },
    )
    rule = define_rule(
        client, admin, "contact", {"type": "created"}, [{"type": "send_email", "template_id": template["id"]}]
    )
    jane = created(
        client, admin, "contacts", {"first_name": "Jane", "last_name": "Doe", "email_address1": "jane@customer.example"}
    )
    run_events(session_factory)
    [run] = runs_of(client, admin, rule)
    assert (run["outcome"], run["error"]) == ("succeeded", None)
    email = read(client, admin, f"activities/{run['actions'][0]['email_id']}")
    assert (email["subject"], email["status"], email["regarding_id"]) == ("Welcome, Jane", "Pending Send", jane["id"])
    summary = send_pending(
        session_factory, OutgoingOptions(ssl_context=smtp_server.certificate.client_context(), timeout=10)
    )
    assert summary.sent == 1
    [got] = smtp_server.received
    assert got["rcpt_tos"] == ["jane@customer.example"] and got["tls"] and got["auth"]
    assert b"Hello Jane, thanks for your interest." in got["content"]
    assert read(client, admin, f"activities/{email['id']}")["status"] == "Sent"


def test_send_email_to_the_primary_contact(client, admin: TestUser, session_factory, smtp_server: SmtpServer) -> None:
    _sending_mailbox(client, admin, smtp_server)
    template = created(
        client,
        admin,
        "email-templates",
        {
            "name": "Case opened",
            "target_entity": "case",
            "subject": "We are on it: {{case.title}}",
            "body_text": "Your case is open.",
        },
    )
    rule = define_rule(
        client,
        admin,
        "case",
        {"type": "created"},
        [{"type": "send_email", "template_id": template["id"], "to": "primary_contact"}],
    )
    jane = created(
        client, admin, "contacts", {"first_name": "Jane", "last_name": "Doe", "email_address1": "jane@customer.example"}
    )
    account = created(client, admin, "accounts", {"name": "Contoso"})
    created(
        client,
        admin,
        "cases",
        {
            "title": "Printer on fire",
            "customer_type": "account",
            "customer_id": account["id"],
            "primary_contact_id": jane["id"],
        },
    )
    run_events(session_factory)
    [run] = runs_of(client, admin, rule)
    assert run["outcome"] == "succeeded", run["error"]
    email = read(client, admin, f"activities/{run['actions'][0]['email_id']}")
    assert [p["party_id"] for p in email["parties"] if p["role"] == "to"] == [jane["id"]]
    assert email["subject"] == "We are on it: Printer on fire"


def test_assign_to_a_team(client, org: OrgBuilder, admin: TestUser, session_factory) -> None:
    team = org.team("Key accounts", admin.business_unit_id, [admin.id])
    define_rule(
        client,
        admin,
        "account",
        {"type": "created"},
        [{"type": "assign", "team_id": str(team)}],
        conditions={"field": "name", "op": "contains", "value": "key"},
    )
    key = created(client, admin, "accounts", {"name": "Key Account Ltd"})
    other = created(client, admin, "accounts", {"name": "Corner shop"})
    run_events(session_factory)
    assert (
        read(client, admin, f"accounts/{key['id']}")["owner_type"],
        read(client, admin, f"accounts/{key['id']}")["owner_id"],
    ) == ("team", str(team))
    assert read(client, admin, f"accounts/{other['id']}")["owner_type"] == "user"
