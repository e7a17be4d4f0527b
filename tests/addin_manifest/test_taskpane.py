"""The task pane (/addin/taskpane.html) in headless Chromium, against the app served for real, with Office.js
replaced by tests/addin_manifest/office_stub.js: a mail from a known contact shows him and his open case; hostile
subjects and names stay text; a pinned pane follows the selected item; problems show their detail and correlation
id; a meeting shows its people; the pick-and-track request carries what the server needs. Each state is kept as a
screenshot under var/test-artifacts/addin-taskpane/<test>/."""

import json
import re
from typing import Any

from addin_manifest.taskpane_route import OFFICE_JS
from tests.addin_manifest import taskpane_fixtures
from tests.addin_manifest.taskpane_fixtures import HOSTILE, Shot, appointment, mail, open_pane, select_item
from tests.api import created
from tests.live_server import LiveServer
from tests.org import OrgBuilder, TestUser

# The harness' fixtures, where pytest finds them for this module.
pane, shot, addin_dev_mode = taskpane_fixtures.pane, taskpane_fixtures.shot, taskpane_fixtures.addin_dev_mode

ASSETS = ("taskpane.css", "pane.js", "actions.js", "api.js", "dom.js", "item.js", "lists.js", "record.js",
          "templates.js")
JANE = ("Jane Doe", "jane@fabrikam.example")


def people(tab: Any) -> Any:
    return tab.locator("#people > li")


def person(tab: Any, address: str) -> Any:
    return tab.locator(f'#people > li[data-address="{address}"]')


# --- the page itself ------------------------------------------------------------------------------------------
def test_the_page_may_be_framed_by_outlook_and_loads_only_office_js_from_elsewhere(client) -> None:
    page = client.get("/addin/taskpane.html")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    policy = dict(part.strip().split(" ", 1) for part in page.headers["content-security-policy"].split(";"))
    assert policy["default-src"] == "'none'" and policy["connect-src"] == "'self'"
    assert policy["script-src"] == "'self' https://appsforoffice.microsoft.com"
    assert policy["frame-ancestors"].split() == [
        "https://outlook.office.com", "https://outlook.office365.com", "https://*.outlook.com",
        "https://outlook.live.com", "https://*.office.com", "'self'"]
    assert "x-frame-options" not in page.headers
    assert page.headers["referrer-policy"] == "no-referrer" and page.headers["x-content-type-options"] == "nosniff"
    assert f'<script src="{OFFICE_JS}"></script>' in page.text
    assert page.text.count("https://") == 1  # Office.js only: nothing else from elsewhere
    for name in ASSETS:
        asset = client.get(f"/addin/taskpane/{name}")
        kind = "text/css" if name.endswith(".css") else "text/javascript"
        assert asset.status_code == 200 and asset.headers["content-type"].startswith(kind), name
        assert asset.headers["content-security-policy"] == page.headers["content-security-policy"]
        assert "innerHTML" not in asset.text and "insertAdjacentHTML" not in asset.text, name
        assert "outerHTML" not in asset.text and "document.write" not in asset.text, name
    for unknown in ("taskpane.html", "office_stub.js", "../taskpane_route.py", "..%2Ftaskpane_route.py"):
        r = client.get(f"/addin/taskpane/{unknown}")
        assert r.status_code == 404, unknown
    # The other static pages keep their own locked policy.
    assert "frame-ancestors 'none'" in client.get("/admin/").headers["content-security-policy"]


# --- in the browser -------------------------------------------------------------------------------------------
def test_a_mail_from_a_known_contact_shows_him_and_his_open_case(
        live_server: LiveServer, client, org: OrgBuilder, admin: TestUser, addin_dev_mode: None, pane: Any,
        shot: Shot) -> None:
    from playwright.sync_api import expect

    account = created(client, admin, "accounts", {"name": "Fabrikam"})
    jane = created(client, admin, "contacts", {"first_name": "Jane", "last_name": "Doe",
                                               "email_address1": JANE[1], "parent_account_id": account["id"]})
    created(client, admin, "cases", {"title": "Printer jam", "customer_type": "contact", "customer_id": jane["id"]})
    created(client, admin, "opportunities", {"name": "50 printers", "currency_code": "EUR",
                                             "customer_type": "account", "customer_id": account["id"]})
    created(client, admin, "activities", {"activity_type": "phone_call", "subject": "Called about the jam",
                                          "regarding_type": "contact", "regarding_id": jane["id"]})

    open_pane(pane, live_server, admin.token, mail(sender=JANE, subject="Jam again",
                                                   cc=[("Nobody", "nobody@else.example")]))
    expect(pane.locator("body")).to_have_attribute("data-state", "ready")
    me = client.get("/addin/api/whoami", headers=admin.headers).json()
    expect(pane.locator("#who")).to_have_text(f"Signed in as {me['full_name']} ({admin.email})")
    expect(pane.locator("#subject")).to_have_text("Jam again")
    expect(people(pane)).to_have_count(3)
    expect(person(pane, JANE[1]).locator(".record")).to_have_text(["Contact Jane Doe"])
    expect(person(pane, "nobody@else.example")).to_contain_text("No CRM record")
    expect(pane.locator("#cases > li")).to_have_count(1)
    expect(pane.locator("#cases > li")).to_contain_text("Printer jam")
    expect(pane.locator("#cases > li .detail")).to_contain_text("Jane Doe")
    expect(pane.locator("#opportunities > li")).to_contain_text("50 printers")
    expect(pane.locator("#activities > li")).to_contain_text("Called about the jam")
    expect(pane.locator("#tracked-status")).to_have_text("Not tracked")
    expect(pane.locator('[data-action="track"]')).to_be_visible()
    expect(pane.locator('[data-action="untrack"]')).to_be_hidden()
    expect(pane.locator("#problem")).to_be_hidden()
    # Names open the record in the pane (test_taskpane_records.py): links that lead nowhere else.
    expect(person(pane, JANE[1]).locator('a[data-action="open-record"]')).to_have_attribute("href", "#")
    sso = pane.evaluate("window.__officeStub.tokenRequests[0]")
    assert sso == {"allowSignInPrompt": True, "allowConsentPrompt": True, "forMSGraphAccess": False}
    shot("known-contact")

    pane.locator("#case-panel summary").click()  # the new case form: the subject, and the customers shown
    expect(pane.locator("#case-title")).to_have_value("Jam again")
    options = pane.locator("#case-customer option")
    expect(options).to_have_text(["Choose the customer", "Contact: Jane Doe"])
    pane.locator("#contact-panel summary").click()
    expect(pane.locator("#contact-first-name")).to_have_value("Jane")
    expect(pane.locator("#contact-last-name")).to_have_value("Doe")
    expect(pane.locator("#contact-email")).to_have_value(JANE[1])
    shot("create-forms")


def test_a_hostile_subject_and_display_name_are_shown_as_text(
        live_server: LiveServer, client, admin: TestUser, addin_dev_mode: None, pane: Any, shot: Shot) -> None:
    from playwright.sync_api import expect

    created(client, admin, "contacts", {"first_name": HOSTILE, "last_name": "Doe", "email_address1": JANE[1]})
    open_pane(pane, live_server, admin.token, mail(sender=(HOSTILE, JANE[1]), subject=f"Re: {HOSTILE}",
                                                   to=[(HOSTILE, "rita@contoso.example")]))
    expect(pane.locator("body")).to_have_attribute("data-state", "ready")
    expect(pane.locator("#subject")).to_have_text(f"Re: {HOSTILE}")
    expect(person(pane, JANE[1]).locator(".record .name")).to_have_text(f"{HOSTILE} Doe")
    pane.locator("#lead-panel summary").click()
    expect(pane.locator("#lead-subject")).to_have_value(f"Re: {HOSTILE}")
    assert pane.locator("img").count() == 0 and pane.title() == "Mailbox CRM"
    shot("hostile-text")


def test_a_pinned_pane_follows_the_selected_item(
        live_server: LiveServer, client, admin: TestUser, addin_dev_mode: None, pane: Any, shot: Shot) -> None:
    from playwright.sync_api import expect

    created(client, admin, "contacts", {"first_name": "Jane", "last_name": "Doe", "email_address1": JANE[1]})
    created(client, admin, "leads", {"last_name": "Lee", "subject": "Interested",
                                     "email_address1": "lee@prospect.example"})
    open_pane(pane, live_server, admin.token, mail(sender=JANE, subject="First mail"))
    expect(pane.locator("#subject")).to_have_text("First mail")
    expect(person(pane, JANE[1]).locator(".record")).to_have_text(["Contact Jane Doe"])
    shot("first-mail")

    select_item(pane, mail(sender=("Lee", "lee@prospect.example"), subject="Second mail"))
    expect(pane.locator("#subject")).to_have_text("Second mail")
    expect(pane.locator("body")).to_have_attribute("data-state", "ready")
    expect(person(pane, "lee@prospect.example").locator(".record")).to_have_text(["Lead Lee"])
    expect(person(pane, JANE[1])).to_have_count(0)
    expect(pane.locator("#lead-last-name")).to_have_value("Lee")  # the forms follow too
    shot("second-mail")

    select_item(pane, None)  # nothing selected (a folder emptied, several items picked)
    expect(pane.locator("body")).to_have_attribute("data-state", "no-item")
    expect(pane.locator("#no-item")).to_be_visible()
    expect(pane.locator("#item")).to_be_hidden()
    shot("no-item")


def test_a_problem_shows_its_detail_and_correlation_id(
        live_server: LiveServer, admin: TestUser, addin_dev_mode: None, pane: Any, shot: Shot) -> None:
    from playwright.sync_api import expect

    answers: list[Any] = []
    pane.on("response", lambda r: answers.append(r) if "/addin/api/" in r.url else None)
    open_pane(pane, live_server, "crm_not-a-real-token", mail(sender=JANE))
    expect(pane.locator("body")).to_have_attribute("data-state", "error")
    refused = next(r for r in answers if r.url.endswith("/addin/api/whoami"))
    assert refused.status == 401
    body = json.loads(refused.text())
    expect(pane.locator("#problem .detail")).to_have_text(body["detail"])
    expect(pane.locator("#problem .correlation")).to_have_text(f"Correlation id: {body['correlation_id']}")
    assert body["correlation_id"] == refused.headers["x-correlation-id"]
    expect(pane.locator("#item")).to_be_hidden()
    shot("refused-token")


def test_a_problem_with_the_item_keeps_the_sign_in(
        live_server: LiveServer, admin: TestUser, addin_dev_mode: None, pane: Any, shot: Shot) -> None:
    from playwright.sync_api import expect

    open_pane(pane, live_server, admin.token, mail(sender=JANE, internet_message_id="<" + "x" * 1000 + ">"))
    expect(pane.locator("body")).to_have_attribute("data-state", "error")
    expect(pane.locator("#who")).to_contain_text("Signed in as")
    expect(pane.locator("#problem .detail")).to_contain_text("internet_message_id")
    expect(pane.locator("#problem .correlation")).to_have_text(re.compile(r"^Correlation id: \S+$"))
    shot("bad-item")

    select_item(pane, mail(sender=JANE, subject="A fine mail"))  # the next item is fine again
    expect(pane.locator("body")).to_have_attribute("data-state", "ready")
    expect(pane.locator("#problem")).to_be_hidden()
    shot("next-item")


def test_a_development_token_in_the_fragment_when_single_sign_on_fails(
        live_server: LiveServer, admin: TestUser, addin_dev_mode: None, pane: Any, shot: Shot) -> None:
    from playwright.sync_api import expect

    open_pane(pane, live_server, None, mail(sender=JANE), fragment=f"#token={admin.token}",
              tokenError={"code": 13003, "message": "SSO is not supported for this account type."})
    expect(pane.locator("body")).to_have_attribute("data-state", "ready")
    expect(pane.locator("#who")).to_contain_text(admin.email)
    assert "token" not in pane.url  # out of the address bar
    shot("dev-token")


def test_without_single_sign_on_nor_a_token_the_pane_says_why(
        live_server: LiveServer, pane: Any, shot: Shot) -> None:
    from playwright.sync_api import expect

    open_pane(pane, live_server, None, mail(sender=JANE),
              tokenError={"code": 13001, "message": "The user is not signed into Office."})
    expect(pane.locator("body")).to_have_attribute("data-state", "error")
    expect(pane.locator("#problem .detail")).to_have_text(
        "Sign-in failed (13001): The user is not signed into Office.")
    shot("no-sign-in")


def test_a_meeting_shows_its_organizer_and_attendees(
        live_server: LiveServer, client, admin: TestUser, addin_dev_mode: None, pane: Any, shot: Shot) -> None:
    from playwright.sync_api import expect

    created(client, admin, "contacts", {"first_name": "Jane", "last_name": "Doe", "email_address1": JANE[1]})
    created(client, admin, "accounts", {"name": "Contoso", "email_address1": "info@contoso.example"})
    open_pane(pane, live_server, admin.token, appointment(
        organizer=JANE, required=[("Rita Rep", "rita@contoso.example"), ("Contoso", "info@contoso.example")],
        optional=[("Lee", "lee@prospect.example")], subject="Quarterly review", series_id="AAMkSeries="))
    expect(pane.locator("body")).to_have_attribute("data-state", "ready")
    expect(pane.locator("#item-kind")).to_have_text("Meeting")
    expect(pane.locator("#subject")).to_have_text("Quarterly review")
    expect(people(pane).locator(".who .address")).to_have_text(
        [JANE[1], "rita@contoso.example", "info@contoso.example", "lee@prospect.example"])
    expect(person(pane, JANE[1]).locator(".role")).to_have_text("from")
    expect(person(pane, "info@contoso.example").locator(".record")).to_have_text(["Account Contoso"])
    expect(pane.locator('[data-action="track-appointment"]')).to_have_text("Track meeting")
    expect(pane.locator("#track-series")).to_be_visible()  # a series: track one occurrence or all
    expect(pane.locator("#create")).to_be_hidden()
    expect(pane.locator("#tracked-status")).to_have_text("")
    shot("meeting")


def test_tracking_picks_the_regarding_record_and_sends_what_the_server_needs(
        live_server: LiveServer, client, admin: TestUser, addin_dev_mode: None, pane: Any, shot: Shot) -> None:
    """POST /addin/api/track is answered here by the test (the endpoint's own tests are its own): what the pane
    sends, and that it says the outcome and reads the context again."""
    from playwright.sync_api import expect

    account = created(client, admin, "accounts", {"name": "Fabrikam"})
    created(client, admin, "contacts", {"first_name": "Jane", "last_name": "Doe", "email_address1": JANE[1],
                                        "parent_account_id": account["id"]})
    sent: list[dict[str, Any]] = []

    def answer(route: Any) -> None:
        sent.append(route.request.post_data_json)
        route.fulfill(status=200, content_type="application/json", body=json.dumps({
            "email_id": "0b6f3c1e-8d5a-4a0e-9a57-6c1f0d8c2b11",
            "regarding": {"type": "account", "id": account["id"], "name": "Fabrikam"}}))

    pane.route(f"{live_server.url}/addin/api/track", answer)
    item = mail(sender=JANE, subject="Order", itemId="AAMkAD/abc+def=",
                shared={"owner": "sales@contoso.example", "targetMailbox": "sales@contoso.example"})
    open_pane(pane, live_server, admin.token, item)
    expect(pane.locator("body")).to_have_attribute("data-state", "ready")
    pane.locator("#regarding-search").fill("Fabri")
    choice = pane.locator('#regarding-results [data-action="pick"]')
    expect(choice).to_have_text(["Account: Fabrikam"])
    shot("search")
    choice.click()
    expect(pane.locator("#regarding-picked")).to_have_text("Regarding: Account Fabrikam")
    pane.locator('[data-action="track"]').click()
    expect(pane.locator("#message")).to_have_text("Tracked: regarding Fabrikam")
    assert sent == [{"item_id": "AAMkAD-abc_def=", "internet_message_id": item["internetMessageId"],
                     "conversation_id": item["conversationId"], "mailbox": "sales@contoso.example",
                     "regarding": {"type": "account", "id": account["id"]}}]
    expect(pane.locator("body")).to_have_attribute("data-state", "ready")
    expect(pane.locator("#regarding-picked")).to_have_text("Regarding: nothing")  # the form starts afresh
    shot("tracked")
