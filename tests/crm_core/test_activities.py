"""Activities through the API: one collection for every type, each type's own fields, states, parties,
the regarding record, occurred_on, lists, access and the audit trail."""

import pytest

from tests.api import created, problem
from tests.org import OrgBuilder, TestUser

A = "/api/v1/activities"




def _activity(client, user: TestUser, **body) -> dict:
    body.setdefault("activity_type", "phone_call")
    body.setdefault("subject", "Call about the renewal")
    return created(client, user, "activities", body)



# --- types and their fields --------------------------------------------------------------------------
COMMON = {"id", "created_on", "modified_on", "created_by_id", "modified_by_id", "owner_type", "owner_id",
          "owning_business_unit_id", "statecode", "statuscode", "state", "status", "activity_type",
          "activity_type_name", "subject", "description", "regarding_type", "regarding_id", "regarding_name",
          "scheduled_start", "scheduled_end", "actual_start", "actual_end", "actual_duration_minutes",
          "priority_code", "occurred_on", "parties"}

TYPES = {
    "phone_call": ({"phone_number": "+1 555 0100", "direction_outgoing": True},
                   {"phone_number", "direction_outgoing"}),
    "email": ({"message_id": "m1@example.com", "in_reply_to": "m0@example.com", "body_text": "Hi",
               "sent_on": "2024-03-01T09:00:00Z"},
              {"message_id", "in_reply_to", "conversation_index", "tracking_token", "body_text", "body_html",
               "sent_on", "direction_outgoing", "sending_mailbox_id", "send_attempts", "send_error"}),
    "task": ({"percent_complete": 40, "category": "Follow-up"}, {"percent_complete", "category"}),
    "appointment": ({"location": "Room 1", "is_all_day": True},
                    {"location", "is_all_day", "global_object_id", "instance_type_code", "series_id"}),
    "recurring_appointment": ({"rrule": "FREQ=WEEKLY;BYDAY=MO", "pattern_start": "2024-01-01"},
                              {"location", "is_all_day", "global_object_id", "rrule", "time_zone",
                               "pattern_start", "pattern_end", "instance_type_code", "series_id"}),
    "letter": ({"address": "1 Main St"}, {"address", "direction_outgoing"}),
    "fax": ({"fax_number": "+1 555 0199", "number_of_pages": 3},
            {"fax_number", "number_of_pages", "direction_outgoing"}),
    "campaign_response": ({"response_code": 1, "channel_type_code": 2, "email_address": "Jo@Example.COM"},
                          {"response_code", "channel_type_code", "company_name", "email_address", "received_on"}),
    "campaign_activity": ({"channel_type_code": 7, "budgeted_cost": "100.50"},
                          {"channel_type_code", "type_code", "budgeted_cost", "actual_cost"}),
    "service_activity": ({"location": "Workshop"}, {"location", "service_id", "site_id"}),  # read-only booking fields
}


@pytest.mark.parametrize("activity_type", list(TYPES))
def test_each_type_takes_and_shows_only_its_own_fields(client, admin: TestUser, activity_type: str) -> None:
    given, own = TYPES[activity_type]
    a = _activity(client, admin, activity_type=activity_type, **given)
    assert set(a) == COMMON | own
    for key, value in given.items():
        if key not in ("budgeted_cost", "email_address"):
            assert a[key] == value
    got = client.get(f"{A}/{a['id']}", headers=admin.headers).json()
    assert set(got) == COMMON | own
    assert got["activity_type"] == activity_type


def test_type_specific_values_are_checked(client, admin: TestUser) -> None:
    a = _activity(client, admin, activity_type="campaign_response", email_address="Jo@Example.COM")
    assert a["email_address"] == "jo@example.com"
    assert float(_activity(client, admin, activity_type="campaign_activity", budgeted_cost="100.50")
                 ["budgeted_cost"]) == 100.5
    # channel 7 (Email) exists for campaign activities but not for campaign responses.
    r = client.post(A, json={"activity_type": "campaign_response", "subject": "x", "channel_type_code": 7},
                    headers=admin.headers)
    problem(r, 422, "channel_type_code")
    r = client.post(A, json={"activity_type": "task", "subject": "x", "percent_complete": 101},
                    headers=admin.headers)
    problem(r, 422, "percent_complete")
    r = client.post(A, json={"activity_type": "appointment", "subject": "x", "is_all_day": None},
                    headers=admin.headers)
    problem(r, 422, "is_all_day")


def test_fields_of_another_type_are_refused_by_name(client, admin: TestUser) -> None:
    r = client.post(A, json={"activity_type": "task", "subject": "x", "phone_number": "123"}, headers=admin.headers)
    body = problem(r, 422, "phone_number")
    assert "phone_call" in body["detail"]
    r = client.post(A, json={"activity_type": "phone_call", "subject": "x", "custom_fields": {"a": 1}},
                    headers=admin.headers)
    problem(r, 422, "custom_fields")
    problem(client.post(A, json={"activity_type": "task", "subject": "x", "colour": "red"},
                         headers=admin.headers), 422, "colour")
    task = _activity(client, admin, activity_type="task")
    problem(client.patch(f"{A}/{task['id']}", json={"location": "Room 2"}, headers=admin.headers), 422, "location")
    problem(client.patch(f"{A}/{task['id']}", json={"activity_type": "email"}, headers=admin.headers),
             422, "activity_type")


def test_type_and_subject_are_required(client, admin: TestUser) -> None:
    problem(client.post(A, json={"subject": "x"}, headers=admin.headers), 422, "activity_type")
    body = problem(client.post(A, json={"activity_type": "meeting", "subject": "x"}, headers=admin.headers),
                    422, "activity_type")
    assert "phone_call" in body["detail"]
    problem(client.post(A, json={"activity_type": "phone_call"}, headers=admin.headers), 422, "subject")
    problem(client.post(A, json={"activity_type": "task", "subject": "   "}, headers=admin.headers), 422, "subject")
    # An email may have no subject, as mail does.
    assert created(client, admin, "activities", {"activity_type": "email"})["subject"] == ""


def test_times_must_be_ordered_and_aware(client, admin: TestUser) -> None:
    r = client.post(A, json={"activity_type": "appointment", "subject": "x", "scheduled_start": "2024-05-02T10:00:00Z",
                             "scheduled_end": "2024-05-02T09:00:00Z"}, headers=admin.headers)
    problem(r, 422, "scheduled_end")
    r = client.post(A, json={"activity_type": "appointment", "subject": "x", "scheduled_start": "2024-05-02T10:00:00"},
                    headers=admin.headers)
    problem(r, 422, "scheduled_start")
    problem(client.get(A, params={"occurred_on__gte": "2024-05-02T10:00:00"}, headers=admin.headers), 422)


def test_message_ids_are_stored_as_a_sync_stores_them(client, admin: TestUser) -> None:
    email = _activity(client, admin, activity_type="email", message_id=" <Abc.1@Mail.Example.COM>",
                      in_reply_to="<Parent@Example.com>")
    assert (email["message_id"], email["in_reply_to"]) == ("Abc.1@mail.example.com", "Parent@example.com")


def test_duplicate_message_id_is_refused(client, admin: TestUser) -> None:
    _activity(client, admin, activity_type="email", message_id="<same@Example.com>")
    r = client.post(A, json={"activity_type": "email", "message_id": "same@example.com"}, headers=admin.headers)
    problem(r, 409)


# --- states ------------------------------------------------------------------------------------------
def test_phone_call_completes_as_received_and_is_read_only_until_reopened(client, admin: TestUser) -> None:
    call = _activity(client, admin)
    assert (call["state"], call["status"], call["actual_end"]) == ("Open", "Open", None)
    url = f"{A}/{call['id']}"
    r = client.post(f"{url}/complete", json={"statuscode": 4}, headers=admin.headers)
    assert r.status_code == 200, r.text
    done = r.json()
    assert (done["statecode"], done["statuscode"], done["state"], done["status"]) == (1, 4, "Completed", "Received")
    assert done["actual_end"] is not None and done["occurred_on"] == done["actual_end"]
    body = problem(client.patch(url, json={"subject": "Changed"}, headers=admin.headers), 409)
    assert "reopen" in body["detail"]
    problem(client.patch(url, json={"parties": []}, headers=admin.headers), 409)
    problem(client.post(f"{url}/complete", json={"statuscode": 4}, headers=admin.headers), 409)
    problem(client.post(f"{url}/cancel", headers=admin.headers), 409)  # reopen first
    r = client.post(f"{url}/reopen", headers=admin.headers)
    assert (r.json()["state"], r.json()["status"]) == ("Open", "Open")
    problem(client.post(f"{url}/reopen", headers=admin.headers), 409)
    assert client.patch(url, json={"subject": "Changed"}, headers=admin.headers).json()["subject"] == "Changed"
    # Made (2) is the default completed status of a phone call.
    assert client.post(f"{url}/complete", headers=admin.headers).json()["status"] == "Made"


def test_status_must_belong_to_the_state_of_the_type(client, admin: TestUser) -> None:
    call = _activity(client, admin)
    # 5 is Completed for a task, not for a phone call.
    problem(client.post(f"{A}/{call['id']}/complete", json={"statuscode": 5}, headers=admin.headers), 422,
             "statuscode")
    task = _activity(client, admin, activity_type="task")
    assert (task["statuscode"], task["status"]) == (2, "Not Started")
    r = client.post(f"{A}/{task['id']}/set-state", json={"statecode": 0, "statuscode": 3}, headers=admin.headers)
    assert r.json()["status"] == "In Progress"
    r = client.post(f"{A}/{task['id']}/complete", headers=admin.headers)
    assert (r.json()["status"], r.json()["percent_complete"]) == ("Completed", 100)
    # Phone calls have no Scheduled state.
    problem(client.post(f"{A}/{call['id']}/set-state", json={"statecode": 3}, headers=admin.headers), 422,
             "statecode")


def test_meetings_start_scheduled_and_service_activities_cancel_as_no_show(client, admin: TestUser) -> None:
    meeting = _activity(client, admin, activity_type="appointment")
    assert (meeting["state"], meeting["status"]) == ("Scheduled", "Busy")
    url = f"{A}/{meeting['id']}"
    assert client.post(f"{url}/cancel", headers=admin.headers).json()["status"] == "Canceled"
    assert client.post(f"{url}/reopen", headers=admin.headers).json()["state"] == "Scheduled"
    r = client.post(f"{url}/set-state", json={"statecode": 0, "statuscode": 2}, headers=admin.headers)
    assert (r.json()["state"], r.json()["status"]) == ("Open", "Tentative")

    visit = _activity(client, admin, activity_type="service_activity")
    assert (visit["state"], visit["status"]) == ("Open", "Requested")
    r = client.post(f"{A}/{visit['id']}/cancel", json={"statuscode": 10}, headers=admin.headers)
    assert (r.json()["state"], r.json()["status"]) == ("Canceled", "No Show")
    email = _activity(client, admin, activity_type="email")
    assert email["status"] == "Draft"
    assert client.post(f"{A}/{email['id']}/complete", json={"statuscode": 3}, headers=admin.headers
                       ).json()["status"] == "Sent"


def test_completing_keeps_a_given_actual_end(client, admin: TestUser) -> None:
    call = _activity(client, admin, actual_end="2024-02-01T10:00:00Z")
    done = client.post(f"{A}/{call['id']}/complete", headers=admin.headers).json()
    assert done["actual_end"].startswith("2024-02-01T10:00:00")
    assert done["occurred_on"] == done["actual_end"]


# --- occurred_on -------------------------------------------------------------------------------------
def test_occurred_on_follows_the_type(client, admin: TestUser) -> None:
    email = _activity(client, admin, activity_type="email", sent_on="2024-03-01T09:00:00Z")
    assert email["occurred_on"].startswith("2024-03-01T09:00:00")
    meeting = _activity(client, admin, activity_type="appointment", scheduled_start="2024-06-01T14:00:00Z")
    assert meeting["occurred_on"].startswith("2024-06-01T14:00:00")
    r = client.patch(f"{A}/{meeting['id']}", json={"scheduled_start": "2024-06-02T14:00:00Z"}, headers=admin.headers)
    assert r.json()["occurred_on"].startswith("2024-06-02T14:00:00")
    visit = _activity(client, admin, activity_type="service_activity", scheduled_start="2024-07-01T08:00:00Z")
    assert visit["occurred_on"].startswith("2024-07-01T08:00:00")
    call = _activity(client, admin)
    assert call["occurred_on"] == call["created_on"]
    # A phone call's scheduled start is not its date: it happened when it was closed.
    call = _activity(client, admin, scheduled_start="2024-01-01T08:00:00Z")
    assert call["occurred_on"] == call["created_on"]


# --- regarding ---------------------------------------------------------------------------------------
def test_regarding_links_to_an_activity_enabled_record_and_clears(client, admin: TestUser) -> None:
    account = created(client, admin, "accounts", {"name": "Contoso"})
    a = _activity(client, admin, regarding_type="account", regarding_id=account["id"])
    assert (a["regarding_type"], a["regarding_id"], a["regarding_name"]) == ("account", account["id"], "Contoso")
    url = f"{A}/{a['id']}"
    r = client.patch(url, json={"regarding_type": None, "regarding_id": None}, headers=admin.headers)
    assert (r.json()["regarding_type"], r.json()["regarding_id"]) == (None, None)
    problem(client.patch(url, json={"regarding_type": "user", "regarding_id": str(admin.id)},
                          headers=admin.headers), 422, "regarding_type")
    problem(client.patch(url, json={"regarding_type": "spaceship", "regarding_id": account["id"]},
                          headers=admin.headers), 422, "regarding_type")
    problem(client.patch(url, json={"regarding_type": "contact", "regarding_id": account["id"]},
                          headers=admin.headers), 422, "regarding_id")
    problem(client.patch(url, json={"regarding_type": "account"}, headers=admin.headers), 422, "regarding_id")


def test_regarding_a_record_the_user_cannot_read_is_422(client, org: OrgBuilder) -> None:
    alice = org.user("alice@a.example", ["Salesperson"], org.unit("A"))
    bob = org.user("bob@b.example", ["Salesperson"], org.unit("B"))
    account = created(client, alice, "accounts", {"name": "Alice's account"})
    r = client.post(A, json={"activity_type": "task", "subject": "Snoop", "regarding_type": "account",
                             "regarding_id": account["id"]}, headers=bob.headers)
    body = problem(r, 422, "regarding_id")
    assert "Alice" not in body["detail"]
    assert _activity(client, alice, regarding_type="account", regarding_id=account["id"])["regarding_name"] \
        == "Alice's account"


# --- parties -----------------------------------------------------------------------------------------
def test_email_parties_resolve_records_and_keep_bare_addresses(client, admin: TestUser) -> None:
    jo = created(client, admin, "contacts", {"last_name": "Jo", "email_address2": "jo@contoso.com"})
    lead = created(client, admin, "leads", {"subject": "Bikes", "last_name": "Lee"})
    a = _activity(client, admin, activity_type="email", parties=[
        {"role": "sender", "party_type": "user", "party_id": str(admin.id)},
        {"role": "to", "address": " Jo@CONTOSO.com "},
        {"role": "cc", "address": "nobody@nowhere.example"},
        {"role": "bcc", "party_type": "lead", "party_id": lead["id"]},
    ])
    parties = {(p["role"], p["participation"]): p for p in a["parties"]}
    assert set(parties) == {("sender", 1), ("to", 2), ("cc", 3), ("bcc", 4)}
    assert parties[("sender", 1)]["party_id"] == str(admin.id)
    assert parties[("to", 2)]["party_type"] == "contact" and parties[("to", 2)]["party_id"] == jo["id"]
    assert parties[("to", 2)]["address"] == "jo@contoso.com" and parties[("to", 2)]["name"] == "Jo"
    assert parties[("cc", 3)]["party_id"] is None and parties[("cc", 3)]["address"] == "nobody@nowhere.example"
    assert parties[("bcc", 4)]["name"] == "Bikes"
    r = client.patch(f"{A}/{a['id']}", json={"parties": [{"role": "to", "address": "jo@contoso.com"}]},
                     headers=admin.headers)
    assert [(p["role"], p["party_id"]) for p in r.json()["parties"]] == [("to", jo["id"])]
    assert client.patch(f"{A}/{a['id']}", json={"parties": None}, headers=admin.headers).json()["parties"] == []


def test_party_rules_name_the_failing_party(client, admin: TestUser) -> None:
    def post(activity_type: str, parties: list[dict]):
        return client.post(A, json={"activity_type": activity_type, "subject": "x", "parties": parties},
                           headers=admin.headers)

    problem(post("email", [{"role": "to", "address": "ok@example.com"}, {"role": "cc", "address": "not an address"}]),
             422, "parties[1].address")
    problem(post("email", [{"role": "required_attendee", "address": "a@example.com"}]), 422, "parties[0].role")
    problem(post("appointment", [{"role": "to", "address": "a@example.com"}]), 422, "parties[0].role")
    problem(post("phone_call", [{"role": "cc", "address": "a@example.com"}]), 422, "parties[0].role")
    problem(post("task", [{"role": "to", "address": "a@example.com"}]), 422, "parties[0].role")
    problem(post("email", [{"role": "sender", "address": "a@example.com"},
                            {"role": "sender", "address": "b@example.com"}]), 422, "parties[1].role")
    problem(post("email", [{"role": "to", "party_type": "contact",
                             "party_id": "00000000-0000-0000-0000-000000000001"}]), 422, "parties[0].party_id")
    problem(post("email", [{"role": "to", "party_type": "team", "party_id": str(admin.id)}]), 422,
             "parties[0].party_type")
    problem(post("email", [{"role": "to"}]), 422, "parties[0]")
    ok = post("appointment", [{"role": "organizer", "party_type": "user", "party_id": str(admin.id)},
                              {"role": "required_attendee", "address": "a@example.com"},
                              {"role": "optional_attendee", "address": "b@example.com"}])
    assert sorted(p["participation"] for p in ok.json()["parties"]) == [5, 6, 7]
    ok = post("service_activity", [{"role": "customer", "address": "c@example.com"},
                                   {"role": "resource", "party_type": "user", "party_id": str(admin.id)}])
    assert sorted(p["participation"] for p in ok.json()["parties"]) == [10, 11]


def test_address_resolution_prefers_contacts_and_refuses_to_guess(client, admin: TestUser) -> None:
    contact = created(client, admin, "contacts", {"last_name": "Both", "email_address1": "both@example.com"})
    created(client, admin, "leads", {"subject": "Lead", "last_name": "Both", "email_address1": "both@example.com",
                                     "ignore_duplicates": True})  # the same person as a lead, on purpose
    lead = created(client, admin, "leads",
                   {"subject": "Only lead", "last_name": "L", "email_address1": "l@example.com"})
    created(client, admin, "contacts", {"last_name": "Twin1", "email_address1": "twin@example.com"})
    created(client, admin, "contacts", {"last_name": "Twin2", "email_address3": "twin@example.com"})
    created(client, admin, "accounts", {"name": "Twin Co", "email_address1": "twin@example.com"})
    a = _activity(client, admin, activity_type="email", parties=[
        {"role": "to", "address": "both@example.com"}, {"role": "to", "address": "l@example.com"},
        {"role": "to", "address": "twin@example.com"}, {"role": "to", "address": admin.email}])
    got = {p["address"]: (p["party_type"], p["party_id"]) for p in a["parties"]}
    assert got["both@example.com"] == ("contact", contact["id"])
    assert got["l@example.com"] == ("lead", lead["id"])
    assert got["twin@example.com"] == (None, None)  # two contacts: not guessed, not passed to the account
    assert got[admin.email] == ("user", str(admin.id))


def test_parties_need_records_the_caller_can_read(client, org: OrgBuilder) -> None:
    alice = org.user("alice@a.example", ["Salesperson"], org.unit("A"))
    bob = org.user("bob@b.example", ["Salesperson"], org.unit("B"))
    secret = created(client, alice, "contacts", {"last_name": "Secret", "email_address1": "secret@example.com"})
    r = client.post(A, json={"activity_type": "email", "parties": [
        {"role": "to", "party_type": "contact", "party_id": secret["id"]}]}, headers=bob.headers)
    problem(r, 422, "parties[0].party_id")
    # By address it stays a bare address: Bob must not learn that Alice has such a contact.
    a = _activity(client, bob, activity_type="email", parties=[{"role": "to", "address": "secret@example.com"}])
    assert (a["parties"][0]["party_type"], a["parties"][0]["party_id"]) == (None, None)
    mine = _activity(client, alice, activity_type="email", parties=[{"role": "to", "address": "secret@example.com"}])
    assert mine["parties"][0]["party_id"] == secret["id"]
    # Shared with Bob to edit, he may keep the party he cannot read while he adds one.
    client.post(f"{A}/{mine['id']}/share", json={"principal_type": "user", "principal_id": str(bob.id),
                                                  "rights": ["read", "write"]}, headers=alice.headers)
    seen = client.get(f"{A}/{mine['id']}", headers=bob.headers).json()["parties"]
    assert seen[0]["name"] is None  # he sees the id, not the name
    kept = [{k: p[k] for k in ("role", "party_type", "party_id", "address")} for p in seen]
    r = client.patch(f"{A}/{mine['id']}", json={"parties": [*kept, {"role": "cc", "address": "bob@b.example"}]},
                     headers=bob.headers)
    assert r.status_code == 200, r.text
    assert {(p["role"], p["party_id"]) for p in r.json()["parties"]} == {("to", secret["id"]), ("cc", str(bob.id))}


# --- lists, access, audit ----------------------------------------------------------------------------
def test_list_filters(client, admin: TestUser, org: OrgBuilder) -> None:
    other = org.user("other@example.com", ["Sales Manager"])
    account = created(client, admin, "accounts", {"name": "Contoso"})
    call = _activity(client, admin, regarding_type="account", regarding_id=account["id"])
    task = _activity(client, admin, activity_type="task", scheduled_start="2024-05-01T09:00:00Z")
    meeting = _activity(client, other, activity_type="appointment", scheduled_start="2024-06-01T09:00:00Z")
    client.post(f"{A}/{task['id']}/complete", headers=admin.headers)

    def ids(**params) -> set[str]:
        r = client.get(A, params=params, headers=admin.headers)
        assert r.status_code == 200, r.text
        return {x["id"] for x in r.json()["items"]}

    assert ids() == {call["id"], task["id"], meeting["id"]}
    assert ids(activity_type="task") == {task["id"]}
    assert ids(activity_type__in=["task", "appointment"]) == {task["id"], meeting["id"]}
    assert ids(regarding_type="account", regarding_id=account["id"]) == {call["id"]}
    assert ids(statecode=1) == {task["id"]}
    assert ids(owning_user_id=str(other.id)) == {meeting["id"]}
    assert ids(scheduled_start__gte="2024-05-15T00:00:00Z") == {meeting["id"]}
    assert ids(scheduled_start__lte="2024-05-15T00:00:00Z") == {task["id"]}
    assert ids(occurred_on__lte="2024-07-01T00:00:00Z") == {meeting["id"]}
    assert ids(occurred_on__gte="2024-07-01T00:00:00Z") == {call["id"], task["id"]}


def test_list_pages_by_occurred_on(client, admin: TestUser) -> None:
    meeting = _activity(client, admin, activity_type="appointment", scheduled_start="2024-06-01T09:00:00Z")
    calls = [_activity(client, admin)["id"] for _ in range(2)]
    r = client.get(A, params={"sort": "-occurred_on", "limit": 2}, headers=admin.headers).json()
    assert {x["id"] for x in r["items"]} == set(calls) and r["next_cursor"]
    rest = client.get(A, params={"sort": "-occurred_on", "limit": 2, "cursor": r["next_cursor"]},
                      headers=admin.headers)
    assert rest.status_code == 200, rest.text
    assert [x["id"] for x in rest.json()["items"]] == [meeting["id"]]


def test_access_assign_share_and_delete(client, org: OrgBuilder) -> None:
    unit_a = org.unit("A")
    alice = org.user("alice@a.example", ["Salesperson"], unit_a)
    anna = org.user("anna@a.example", ["Salesperson"], unit_a)
    bob = org.user("bob@b.example", ["Salesperson"], org.unit("B"))
    manager = org.user("boss@a.example", ["Sales Manager"], unit_a)
    call = _activity(client, alice)
    url = f"{A}/{call['id']}"
    assert client.get(url, headers=anna.headers).status_code == 200
    assert client.get(url, headers=bob.headers).status_code == 404
    assert client.get(A, headers=bob.headers).json()["items"] == []
    assert client.patch(url, json={"subject": "Mine"}, headers=anna.headers).status_code == 403
    r = client.post(f"{url}/share", json={"principal_type": "user", "principal_id": str(bob.id), "rights": ["read"]},
                    headers=alice.headers)
    assert r.status_code == 200, r.text
    assert client.get(url, headers=bob.headers).status_code == 200
    r = client.post(f"{url}/assign", json={"owner_type": "user", "owner_id": str(anna.id)}, headers=manager.headers)
    assert r.status_code == 200 and r.json()["owner_id"] == str(anna.id)
    assert client.delete(url, headers=alice.headers).status_code == 403
    assert client.delete(url, headers=anna.headers).status_code == 204
    assert client.get(url, headers=anna.headers).status_code == 404


def test_audit_rows_for_the_activity_and_its_parties(client, admin: TestUser) -> None:
    a = _activity(client, admin, activity_type="email", subject="Quote",
                  parties=[{"role": "to", "address": "x@example.com"}, {"role": "to", "address": "z@example.com"}])
    url = f"{A}/{a['id']}"
    client.patch(url, json={"subject": "Quote v2", "parties": [{"role": "to", "address": "z@example.com"},
                                                              {"role": "cc", "address": "y@example.com"}]},
                 headers=admin.headers)
    client.post(f"{url}/complete", json={"statuscode": 3}, headers=admin.headers)
    rows = client.get(f"{url}/audit", headers=admin.headers).json()
    assert all(row["user_id"] == str(admin.id) for row in rows)
    assert [r["action"] for r in rows] == ["complete", "update", "create"]
    complete, update, create = rows

    def parties(changes: dict) -> dict[str, dict]:
        """{party row: {column: [old, new]}} from keys like party.<row id>.address_used."""
        out: dict[str, dict] = {}
        for key, value in changes.items():
            if key.startswith("party."):
                _, row, column = key.split(".")
                out.setdefault(row, {})[column] = value
        return out

    assert create["changes"]["subject"] == [None, "Quote"]
    added = parties(create["changes"]).values()
    assert sorted(p["address_used"][1] for p in added) == ["x@example.com", "z@example.com"]
    assert all(p["participation"] == [None, 2] for p in added)
    assert update["changes"]["subject"] == ["Quote", "Quote v2"]
    changed = parties(update["changes"]).values()
    as_pairs = {(tuple(p["participation"]), tuple(p["address_used"])) for p in changed}
    assert as_pairs == {((2, None), ("x@example.com", None)), ((None, 3), (None, "y@example.com"))}
    assert complete["changes"]["statuscode"] == [1, 3]
