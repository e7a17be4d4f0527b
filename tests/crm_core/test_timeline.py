"""A record's timeline: what regards it and what it takes part in, once each, newest first, paged, and only
what the caller may read."""


from tests.api import created
from tests.org import OrgBuilder, TestUser

A = "/api/v1/activities"




def _timeline(client, user: TestUser, collection: str, record_id: str, **params) -> dict:
    r = client.get(f"/api/v1/{collection}/{record_id}/timeline", params=params, headers=user.headers)
    assert r.status_code == 200, r.text
    return r.json()


def test_regarding_and_party_activities_newest_first_once_each(client, admin: TestUser) -> None:
    account = created(client, admin, "accounts", {"name": "Contoso"})
    jo = created(client, admin, "contacts", {"last_name": "Jo", "email_address1": "jo@contoso.com",
                                           "parent_account_id": account["id"]})
    old_mail = created(client, admin, "activities", {
        "activity_type": "email", "subject": "Hello", "sent_on": "2024-01-10T09:00:00Z",
        "regarding_type": "account", "regarding_id": account["id"],
        "parties": [{"role": "to", "address": "jo@contoso.com"}]})
    meeting = created(client, admin, "activities", {
        "activity_type": "appointment", "subject": "Visit", "scheduled_start": "2024-03-01T10:00:00Z",
        "parties": [{"role": "required_attendee", "party_type": "contact", "party_id": jo["id"]},
                    {"role": "organizer", "party_type": "user", "party_id": str(admin.id)}]})
    call = created(client, admin, "activities", {
        "activity_type": "phone_call", "subject": "Follow-up", "actual_end": "2024-02-01T10:00:00Z",
        "regarding_type": "contact", "regarding_id": jo["id"],
        "parties": [{"role": "to", "party_type": "contact", "party_id": jo["id"]}]})
    client.post(f"{A}/{call['id']}/complete", headers=admin.headers)
    created(client, admin, "activities", {"activity_type": "task", "subject": "Unrelated"})

    items = _timeline(client, admin, "contacts", jo["id"])["items"]
    # The call regards Jo and names her as a party: it is listed once.
    assert [i["id"] for i in items] == [meeting["id"], call["id"], old_mail["id"]]
    first = items[0]
    assert (first["activity_type"], first["activity_type_name"], first["subject"]) == ("appointment", "Appointment",
                                                                                        "Visit")
    assert (first["state"], first["status"]) == ("Scheduled", "Busy")
    assert first["occurred_on"].startswith("2024-03-01T10:00:00")
    assert first["owner"] == {"type": "user", "id": str(admin.id), "name": "Admin"}
    assert {p["role"]: p["name"] for p in first["parties"]} == {"required_attendee": "Jo", "organizer": "Admin"}
    assert items[1]["status"] == "Made" and items[1]["regarding"] == {"type": "contact", "id": jo["id"], "name": "Jo"}
    assert items[2]["regarding"] == {"type": "account", "id": account["id"], "name": "Contoso"}

    assert [i["id"] for i in _timeline(client, admin, "accounts", account["id"])["items"]] == [old_mail["id"]]
    assert [i["id"] for i in _timeline(client, admin, "contacts", jo["id"], activity_type="phone_call")["items"]] \
        == [call["id"]]
    assert [i["id"] for i in _timeline(client, admin, "contacts", jo["id"], statecode=1)["items"]] == [call["id"]]


def test_leads_have_a_timeline_and_other_collections_do_not(client, admin: TestUser) -> None:
    lead = created(client, admin, "leads", {"subject": "Bikes", "company_name": "Adventure Works"})
    task = created(client, admin, "activities", {"activity_type": "task", "subject": "Call back",
                                               "regarding_type": "lead", "regarding_id": lead["id"]})
    assert [i["id"] for i in _timeline(client, admin, "leads", lead["id"])["items"]] == [task["id"]]
    for url in (f"/api/v1/users/{admin.id}/timeline", f"/api/v1/activities/{task['id']}/timeline",
                f"/api/v1/spaceships/{lead['id']}/timeline",
                "/api/v1/leads/00000000-0000-0000-0000-000000000001/timeline"):
        r = client.get(url, headers=admin.headers)
        assert r.status_code == 404, url
        assert r.headers["content-type"] == "application/problem+json"


def test_timeline_shows_only_activities_the_caller_can_read(client, org: OrgBuilder) -> None:
    unit_a = org.unit("A")
    alice = org.user("alice@a.example", ["Salesperson"], unit_a)
    anna = org.user("anna@a.example", ["Salesperson"], unit_a)
    bob = org.user("bob@b.example", ["Salesperson"], org.unit("B"))
    account = created(client, alice, "accounts", {"name": "Shared Co"})
    call = created(client, alice, "activities", {"activity_type": "phone_call", "subject": "Pricing",
                                               "regarding_type": "account", "regarding_id": account["id"]})
    # Bob of another unit cannot read the account: no timeline at all.
    r = client.get(f"/api/v1/accounts/{account['id']}/timeline", headers=bob.headers)
    assert r.status_code == 404
    # Shared with him, he sees the account's timeline but not Alice's activity on it.
    client.post(f"/api/v1/accounts/{account['id']}/share", json={
        "principal_type": "user", "principal_id": str(bob.id), "rights": ["read"]}, headers=alice.headers)
    assert _timeline(client, bob, "accounts", account["id"])["items"] == []
    # Anna, in Alice's unit, reads it.
    assert [i["id"] for i in _timeline(client, anna, "accounts", account["id"])["items"]] == [call["id"]]
    # Linking needs Append To on the account, which a read-only share does not give.
    r = client.post(A, json={"activity_type": "task", "subject": "Mine", "regarding_type": "account",
                             "regarding_id": account["id"]}, headers=bob.headers)
    assert r.status_code == 403
    client.post(f"/api/v1/accounts/{account['id']}/share", json={
        "principal_type": "user", "principal_id": str(bob.id), "rights": ["read", "append_to"]},
        headers=alice.headers)
    # Bob's own activity on the shared account is his to see.
    mine = created(client, bob, "activities", {"activity_type": "task", "subject": "Mine", "regarding_type": "account",
                                             "regarding_id": account["id"]})
    assert [i["id"] for i in _timeline(client, bob, "accounts", account["id"])["items"]] == [mine["id"]]


def test_names_of_unreadable_records_are_not_shown(client, org: OrgBuilder) -> None:
    unit_a = org.unit("A")
    alice = org.user("alice@a.example", ["Salesperson"], unit_a)
    bob = org.user("bob@b.example", ["Salesperson"], org.unit("B"))
    account = created(client, bob, "accounts", {"name": "Bob's secret account"})
    contact = created(client, alice, "contacts", {"last_name": "Jo"})
    task = created(client, alice, "activities", {"activity_type": "task", "subject": "Shared task",
                                               "regarding_type": "contact", "regarding_id": contact["id"]})
    client.post(f"/api/v1/contacts/{contact['id']}/share", json={
        "principal_type": "user", "principal_id": str(bob.id), "rights": ["read"]}, headers=alice.headers)
    client.post(f"{A}/{task['id']}/share", json={
        "principal_type": "user", "principal_id": str(bob.id), "rights": ["read", "write"]}, headers=alice.headers)
    r = client.patch(f"{A}/{task['id']}", json={"regarding_type": "account", "regarding_id": account["id"]},
                     headers=bob.headers)
    assert r.status_code == 200, r.text
    # Alice sees that it regards an account, but not its name.
    got = client.get(f"{A}/{task['id']}", headers=alice.headers).json()
    assert (got["regarding_id"], got["regarding_name"]) == (account["id"], None)


def test_timeline_pages_with_a_cursor(client, admin: TestUser) -> None:
    account = created(client, admin, "accounts", {"name": "Contoso"})
    made = [created(client, admin, "activities", {
        "activity_type": "appointment", "subject": f"Meeting {day}", "scheduled_start": f"2024-05-{day:02d}T10:00:00Z",
        "regarding_type": "account", "regarding_id": account["id"]})["id"] for day in range(1, 8)]
    seen, cursor = [], None
    while True:
        page = _timeline(client, admin, "accounts", account["id"], limit=3, **({"cursor": cursor} if cursor else {}))
        seen += [i["id"] for i in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == list(reversed(made))
    r = client.get(f"/api/v1/accounts/{account['id']}/timeline", params={"cursor": "garbage"}, headers=admin.headers)
    assert r.status_code == 422
