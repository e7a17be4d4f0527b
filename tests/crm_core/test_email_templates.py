"""Email templates as a user meets them: kept and audited like any record, placeholders checked when saved,
rendered for a record safely (a hostile value stays text in HTML and cannot split the subject), and inserted
into a draft email regarding the record."""

import uuid

from tests.api import created, problem
from tests.org import OrgBuilder, TestUser

API = "/api/v1"
T = f"{API}/email-templates"


def _template(client, user: TestUser, **body) -> dict:
    body.setdefault("name", "Welcome")
    body.setdefault("target_entity", "contact")
    body.setdefault("subject", "Hello {{contact.first_name|there}}")
    body.setdefault("body_text", "Dear {{contact.first_name|customer}},\n{{user.full_name}}")
    return created(client, user, "email-templates", body)


def _post(client, user: TestUser, path: str, body: dict, status: int = 200) -> dict:
    r = client.post(f"{T}/{path}", json=body, headers=user.headers)
    assert r.status_code == status, r.text
    return r.json()


def test_a_template_is_a_record_audited_and_readable_by_everyone(client, org: OrgBuilder, admin: TestUser) -> None:
    seller = org.user("seller@example.com", ["Salesperson"])
    mine = _template(client, seller, name="  Follow-up  ", language_code="en-GB")
    assert (mine["name"], mine["language_code"], mine["owner_id"]) == ("Follow-up", "en-GB", str(seller.id))
    other = org.user("other@example.com", ["Salesperson"])
    assert client.get(f"{T}/{mine['id']}", headers=other.headers).status_code == 200  # read by all
    problem(client.patch(f"{T}/{mine['id']}", json={"name": "Mine now"}, headers=other.headers), 403)
    r = client.patch(f"{T}/{mine['id']}", json={"subject": "Hi {{contact.last_name}}"}, headers=seller.headers)
    assert r.status_code == 200, r.text
    trail = client.get(f"{T}/{mine['id']}/audit", headers=admin.headers).json()
    assert [e["action"] for e in trail] == ["update", "create"]
    assert trail[0]["changes"]["subject"] == ["Hello {{contact.first_name|there}}", "Hi {{contact.last_name}}"]
    names = [
        t["name"] for t in client.get(T, params={"target_entity": "contact"}, headers=other.headers).json()["items"]
    ]
    assert names == ["Follow-up"]
    assert client.delete(f"{T}/{mine['id']}", headers=seller.headers).status_code == 204


def test_an_unknown_or_malformed_placeholder_is_refused_when_saved(client, admin: TestUser) -> None:
    body = problem(
        client.post(
            T,
            json={"name": "x", "target_entity": "contact", "subject": "Hi", "body_text": "{{contact.shoe_size}}"},
            headers=admin.headers,
        ),
        422,
        "body_text",
    )
    assert "shoe_size" in body["detail"]
    problem(
        client.post(
            T,
            json={"name": "x", "target_entity": "contact", "subject": "{{case.case_number}}", "body_text": "b"},
            headers=admin.headers,
        ),
        422,
        "subject",
    )
    problem(
        client.post(
            T,
            json={"name": "x", "target_entity": "contact", "subject": "Hi", "body_html": "<p>{{ contact }}</p>"},
            headers=admin.headers,
        ),
        422,
        "body_html",
    )
    problem(
        client.post(
            T,
            json={"name": "x", "target_entity": "invoice_line", "subject": "Hi", "body_text": "b"},
            headers=admin.headers,
        ),
        422,
        "target_entity",
    )
    problem(
        client.post(
            T, json={"name": "x", "subject": "Hi", "body_text": "{{user.password_hash}}"}, headers=admin.headers
        ),
        422,
        "body_text",
    )
    template = _template(client, admin)
    problem(
        client.patch(f"{T}/{template['id']}", json={"body_html": "{{contact.nope}}"}, headers=admin.headers),
        422,
        "body_html",
    )


def test_hostile_values_stay_text_in_html_and_cannot_split_the_subject(client, admin: TestUser) -> None:
    contact = created(
        client,
        admin,
        "contacts",
        {"first_name": "<script>alert(1)</script>", "last_name": "Evil\r\nBcc: victim@example.com"},
    )
    template = _template(
        client,
        admin,
        subject="About {{contact.last_name}} for {{contact.first_name}}",
        body_html="<p>Dear <b>{{contact.first_name}}</b> {{contact.last_name}}</p>",
        body_text="Dear {{contact.first_name}}",
    )
    out = _post(client, admin, f"{template['id']}/render", {"record_type": "contact", "record_id": contact["id"]})
    assert "<script>" not in out["body_html"]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in out["body_html"]
    assert out["body_html"].startswith("<p>Dear <b>")  # the template's own markup stays markup
    assert "\r" not in out["subject"] and "\n" not in out["subject"]
    assert out["subject"] == "About Evil Bcc: victim@example.com for <script>alert(1)</script>"
    assert out["body_text"] == "Dear <script>alert(1)</script>"  # plain text is not HTML


def test_missing_values_render_their_default_and_related_records_fill_in(client, admin: TestUser) -> None:
    account = created(client, admin, "accounts", {"name": "Contoso & Sons"})
    contact = created(
        client,
        admin,
        "contacts",
        {"last_name": "Nobody", "email_address1": "n@example.com", "parent_account_id": account["id"]},
    )
    case = created(
        client, admin, "cases", {"title": "Broken", "customer_type": "contact", "customer_id": contact["id"]}
    )
    template = _template(
        client,
        admin,
        target_entity="case",
        subject="[{{case.case_number}}] {{case.title}}",
        body_text="Hello {{contact.first_name|there}} at {{account.name|your company}}, {{user.full_name}}",
        body_html="<p>Hello {{contact.first_name|<there>}}</p>",
    )
    out = _post(client, admin, f"{template['id']}/render", {"record_type": "case", "record_id": case["id"]})
    assert out["subject"] == f"[{case['case_number']}] Broken"
    # The case's customer contact fills {{contact.*}}; the case looks up no account, so the default shows.
    assert out["body_text"] == "Hello there at your company, Admin"
    assert out["body_html"] == "<p>Hello &lt;there&gt;</p>"  # a default is escaped as a value is
    problem(
        client.post(
            f"{T}/{template['id']}/render",
            json={"record_type": "contact", "record_id": contact["id"]},
            headers=admin.headers,
        ),
        422,
        "record_type",
    )


def test_render_needs_read_access_to_the_record(client, org: OrgBuilder, admin: TestUser) -> None:
    east = org.unit("East")
    outsider = org.user("outsider@example.com", ["Salesperson"], east)
    contact = created(client, admin, "contacts", {"first_name": "Ann", "last_name": "Secret"})
    template = _template(client, admin)
    problem(
        client.post(
            f"{T}/{template['id']}/render",
            json={"record_type": "contact", "record_id": contact["id"]},
            headers=outsider.headers,
        ),
        404,
    )
    problem(
        client.post(
            f"{T}/{template['id']}/render",
            json={"record_type": "contact", "record_id": str(uuid.uuid4())},
            headers=admin.headers,
        ),
        404,
    )


def test_instantiate_makes_a_draft_email_regarding_the_record(client, admin: TestUser) -> None:
    contact = created(
        client, admin, "contacts", {"first_name": "Ann", "last_name": "Lee", "email_address1": "ann@example.com"}
    )
    template = _template(client, admin, body_html="<p>Hi {{contact.first_name}}</p>")
    email = _post(
        client,
        admin,
        f"{template['id']}/instantiate",
        {"record_type": "contact", "record_id": contact["id"]},
        status=201,
    )
    assert (email["activity_type"], email["status"]) == ("email", "Draft")
    assert (email["regarding_type"], email["regarding_id"]) == ("contact", contact["id"])
    assert email["subject"] == "Hello Ann"
    assert email["body_html"] == "<p>Hi Ann</p>"
    assert email["body_text"] == "Dear Ann,\nAdmin"
    roles = {(p["role"], p["party_type"], p["party_id"]) for p in email["parties"]}
    assert roles == {("sender", "user", str(admin.id)), ("to", "contact", contact["id"])}
    timeline = client.get(f"{API}/contacts/{contact['id']}/timeline", headers=admin.headers).json()
    assert [i["id"] for i in timeline["items"]] == [email["id"]]
    # The draft goes the usual way: without a mailbox to send from, the sending path says so.
    problem(client.post(f"{API}/activities/{email['id']}/send", headers=admin.headers), 409)
