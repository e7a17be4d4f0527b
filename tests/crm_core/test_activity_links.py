"""Deleting a record takes its activities with it, and leaves parties that named it flagged, as Dynamics does."""

from tests.org import OrgBuilder


def test_deleting_a_contact_deletes_its_activities_and_flags_its_parties(client, org: OrgBuilder) -> None:
    admin = org.admin()
    h = admin.headers
    contact = client.post("/api/v1/contacts", json={"last_name": "Leaving", "email_address1": "leaving@example.com"},
                          headers=h).json()
    account = client.post("/api/v1/accounts", json={"name": "Stays"}, headers=h).json()
    about_contact = client.post("/api/v1/activities", json={
        "activity_type": "task", "subject": "Call back", "regarding_type": "contact", "regarding_id": contact["id"],
    }, headers=h)
    assert about_contact.status_code == 201, about_contact.text
    mail = client.post("/api/v1/activities", json={
        "activity_type": "email", "subject": "Offer", "regarding_type": "account", "regarding_id": account["id"],
        "parties": [{"role": "to", "address": "leaving@example.com"}],
    }, headers=h).json()
    assert mail["parties"][0]["party_id"] == contact["id"]

    assert client.delete(f"/api/v1/contacts/{contact['id']}", headers=h).status_code == 204

    assert client.get(f"/api/v1/activities/{about_contact.json()['id']}", headers=h).status_code == 404
    kept = client.get(f"/api/v1/activities/{mail['id']}", headers=h).json()
    assert kept["parties"][0]["is_party_deleted"] is True
    assert kept["parties"][0]["address"] == "leaving@example.com"
    timeline = client.get(f"/api/v1/accounts/{account['id']}/timeline", headers=h).json()["items"]
    assert [a["id"] for a in timeline] == [mail["id"]]


def test_built_in_activity_types_exist_from_the_start(client, org: OrgBuilder) -> None:
    admin = org.admin()
    codes = {t["code"] for t in client.get("/api/v1/activity-types", params={"limit": 100},
                                           headers=admin.headers).json()["items"]}
    assert {"phone_call", "email", "task", "appointment", "recurring_appointment", "letter", "fax",
            "campaign_response", "campaign_activity", "service_activity"} <= codes
