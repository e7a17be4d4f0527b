"""Insert a template from the task pane, over HTTP: GET /addin/api/templates lists what the caller may use, and
POST /addin/api/templates/{id}/render fills one from a record he can read, with every value escaped in the HTML
body and no line break in the subject; a record he cannot read is not found; no token, no templates."""

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from addin_manifest.auth.principal import AddinAuth
from tests.api import created, problem
from tests.org import OrgBuilder, TestUser

T = "/addin/api/templates"


@pytest.fixture
def dev_mode(client: Any) -> Iterator[None]:
    client.app.state.addin_auth = AddinAuth(validator=None, dev_tokens=True)
    yield
    del client.app.state.addin_auth


def template(client: Any, user: TestUser, name: str, target_entity: str | None, **body: Any) -> dict:
    return created(
        client,
        user,
        "email-templates",
        {"name": name, "target_entity": target_entity, "subject": "Hello", "body_text": "Hi", **body},
    )


def render(client: Any, user: TestUser, template_id: str, kind: str, record_id: str) -> Any:
    return client.post(f"{T}/{template_id}/render", json={"type": kind, "id": record_id}, headers=user.headers)


def test_the_templates_the_caller_may_use(client, org: OrgBuilder, admin: TestUser, dev_mode: None) -> None:
    seller = org.user("seller@example.com", ["Salesperson"])
    welcome = template(client, admin, "Welcome", "contact", language_code="en-GB")
    template(client, admin, "Any record", None)
    template(client, seller, "Case update", "case")
    r = client.get(T, headers=seller.headers)
    assert r.status_code == 200, r.text
    assert [(t["name"], t["target_entity"]) for t in r.json()] == [
        ("Any record", None),
        ("Case update", "case"),
        ("Welcome", "contact"),
    ]
    assert r.json()[2] == {"id": welcome["id"], "name": "Welcome", "target_entity": "contact", "language_code": "en-GB"}


def test_a_template_rendered_for_a_record_keeps_values_as_text(client, admin: TestUser, dev_mode: None) -> None:
    evil = created(
        client,
        admin,
        "contacts",
        {"first_name": "<img src=x onerror=alert(1)>", "last_name": "Doe\r\nBcc: victim@example.com"},
    )
    used = template(
        client,
        admin,
        "Welcome",
        "contact",
        subject="Hello {{contact.last_name}}",
        body_text="Dear {{contact.first_name}}",
        body_html="<p>Dear <b>{{contact.first_name}}</b>, {{user.full_name}}</p>",
    )
    r = render(client, admin, used["id"], "contact", evil["id"])
    assert r.status_code == 200, r.text
    assert r.json() == {
        "subject": "Hello Doe Bcc: victim@example.com",
        "body_html": "<p>Dear <b>&lt;img src=x onerror=alert(1)&gt;</b>, Admin</p>",
        "body_text": "Dear <img src=x onerror=alert(1)>",
    }

    # A case's template fills {{contact.*}} from its customer.
    case = created(client, admin, "cases", {"title": "Jam", "customer_type": "contact", "customer_id": evil["id"]})
    for_cases = template(
        client,
        admin,
        "Case",
        "case",
        subject="[{{case.case_number}}] {{case.title}}",
        body_text="Dear {{contact.first_name}}",
        body_html=None,
    )
    out = render(client, admin, for_cases["id"], "case", case["id"]).json()
    assert out == {
        "subject": f"[{case['case_number']}] Jam",
        "body_html": None,
        "body_text": "Dear <img src=x onerror=alert(1)>",
    }


def test_render_refusals(client, org: OrgBuilder, admin: TestUser, dev_mode: None) -> None:
    outsider = org.user("outsider@example.com", ["Salesperson"], org.unit("East"))
    contact = created(client, admin, "contacts", {"last_name": "Secret"})
    used = template(client, admin, "Welcome", "contact")
    problem(render(client, outsider, used["id"], "contact", contact["id"]), 404)
    problem(render(client, admin, used["id"], "contact", str(uuid.uuid4())), 404)
    problem(render(client, admin, str(uuid.uuid4()), "contact", contact["id"]), 404)
    problem(render(client, admin, used["id"], "lead", contact["id"]), 422, "type")
    problem(render(client, admin, used["id"], "invoice", contact["id"]), 422, "type")
    problem(client.get(T), 401)
    problem(client.post(f"{T}/{used['id']}/render", json={"type": "contact", "id": contact["id"]}), 401)
