"""A quick campaign that writes its emails from an email template, as a marketer uses one: each member gets the
template filled with his own values, a hostile name stays text in the HTML body, and a template for another
entity is refused before anything is sent."""

from tests.api import created, problem
from tests.crm_core.test_campaigns import Q, activities_regarding, contact, member_of, static_list
from tests.org import TestUser


def template(client, user: TestUser, **body) -> dict:
    return created(
        client,
        user,
        "email-templates",
        {
            "name": "Spring offer",
            "target_entity": "contact",
            "subject": "Spring offer for {{contact.first_name|you}}",
            "body_text": "Dear {{contact.first_name|customer}} {{contact.last_name}},\n{{user.full_name}}",
            "body_html": "<p>Dear <b>{{contact.first_name|customer}}</b> {{contact.last_name}}</p>",
            **body,
        },
    )


def test_each_member_gets_the_template_with_his_own_values(client, admin: TestUser) -> None:
    ann = contact(client, admin, "Lee", first_name="Ann", email_address1="ann@example.com")
    bob = contact(client, admin, "Ray", first_name="Bob", email_address1="bob@example.com")
    nomail = contact(client, admin, "Nomail")
    lst = static_list(client, admin, [ann["id"], bob["id"], nomail["id"]])
    used = template(client, admin)
    qc = created(
        client,
        admin,
        "quick-campaigns",
        {"name": "Spring mailing", "list_id": lst["id"], "activity_type": "email", "email_template_id": used["id"]},
    )
    assert (qc["target_count"], qc["success_count"], qc["failure_count"]) == (3, 2, 1)
    assert qc["failures"] == [{"member_id": nomail["id"], "reason": "the member has no email address"}]
    assert qc["subject"] == "Spring offer for {{contact.first_name|you}}"  # what the emails were written from
    emails = {member_of(e): e for e in activities_regarding(client, admin, "quick_campaign", qc["id"], "email")}
    assert set(emails) == {ann["id"], bob["id"]}
    mail = emails[ann["id"]]
    assert mail["subject"] == "Spring offer for Ann"
    assert mail["body_html"] == "<p>Dear <b>Ann</b> Lee</p>"
    assert mail["body_text"] == mail["description"] == "Dear Ann Lee,\nAdmin"
    assert (mail["statecode"], mail["statuscode"]) == (1, 6)  # Pending Send, as any campaign email
    assert emails[bob["id"]]["subject"] == "Spring offer for Bob"
    assert emails[bob["id"]]["body_html"] == "<p>Dear <b>Bob</b> Ray</p>"


def test_a_hostile_member_name_stays_text_in_the_html_body(client, admin: TestUser) -> None:
    evil = contact(
        client,
        admin,
        "Evil\r\nBcc: victim@example.com",
        first_name="<script>alert(1)</script>",
        email_address1="evil@example.com",
    )
    lst = static_list(client, admin, [evil["id"]])
    qc = created(
        client,
        admin,
        "quick-campaigns",
        {
            "name": "Hostile",
            "list_id": lst["id"],
            "activity_type": "email",
            "email_template_id": template(client, admin)["id"],
        },
    )
    assert qc["success_count"] == 1, qc
    (mail,) = activities_regarding(client, admin, "quick_campaign", qc["id"], "email")
    assert "<script>" not in mail["body_html"]
    # Stored HTML is sanitised (crm_core.html_sanitising), whose HTML parser writes a CR LF in text as LF.
    assert mail["body_html"] == "<p>Dear <b>&lt;script&gt;alert(1)&lt;/script&gt;</b> Evil\nBcc: victim@example.com</p>"
    assert "\r" not in mail["subject"] and "\n" not in mail["subject"]
    assert mail["subject"] == "Spring offer for <script>alert(1)</script>"  # a subject is text, not HTML


def test_a_template_that_cannot_write_to_the_members_is_refused(client, admin: TestUser) -> None:
    lead = created(client, admin, "leads", {"last_name": "Lead", "subject": "Interest", "email_address1": "l@x.io"})
    leads = static_list(client, admin, [lead["id"]], member_type="lead")
    for_contacts = template(client, admin)
    base = {"name": "Q", "list_id": leads["id"], "activity_type": "email", "email_template_id": for_contacts["id"]}
    problem(client.post(Q, json=base, headers=admin.headers), 422, "email_template_id")
    problem(
        client.post(
            Q, json={**base, "email_template_id": "00000000-0000-0000-0000-000000000001"}, headers=admin.headers
        ),
        422,
        "email_template_id",
    )
    problem(client.post(Q, json={**base, "activity_type": "letter"}, headers=admin.headers), 422, "email_template_id")
    problem(client.post(Q, json={**base, "subject": "Hi"}, headers=admin.headers), 422, "email_template_id")
    problem(
        client.post(Q, json={k: v for k, v in base.items() if k != "email_template_id"}, headers=admin.headers),
        422,
        "subject",
    )
    assert client.get(Q, params={"list_id": leads["id"]}, headers=admin.headers).json()["items"] == []

    # A global template fits any member type: {{lead.*}} is the lead's own.
    everyone = template(
        client,
        admin,
        target_entity=None,
        subject="Hello {{lead.first_name|friend}}",
        body_text="Hi {{lead.last_name}}",
        body_html=None,
    )
    qc = created(client, admin, "quick-campaigns", {**base, "email_template_id": everyone["id"]})
    (mail,) = activities_regarding(client, admin, "quick_campaign", qc["id"], "email")
    assert (mail["subject"], mail["body_text"], mail["body_html"]) == ("Hello friend", "Hi Lead", None)
