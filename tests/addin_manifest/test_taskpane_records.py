"""The task pane opens records and creates leads as a rep would, in headless Chromium against the app served for
real: a contact's name opens the contact in the pane (fields, open case, activities), a case opens from there,
Back returns the way it came, and "Open in the CRM" appears only when the server names the CRM's record page; a
lead like an existing one is refused with its possible duplicates listed, then created anyway when asked.
Screenshots under var/test-artifacts/addin-taskpane/<test>/."""

from collections.abc import Iterator
from typing import Any

import pytest

from tests.addin_manifest import taskpane_fixtures
from tests.addin_manifest.taskpane_fixtures import Shot, mail, open_pane
from tests.api import created
from tests.live_server import LiveServer
from tests.org import TestUser

pane, shot, addin_dev_mode = taskpane_fixtures.pane, taskpane_fixtures.shot, taskpane_fixtures.addin_dev_mode
JANE = ("Jane Doe", "jane@fabrikam.example")
RECORD_URL = "https://crm.example.com/main?etn={type}&id={id}"


@pytest.fixture
def record_url(api_app: Any) -> Iterator[str]:
    """The server names its web front end's record page (CRM_ADDIN_RECORD_URL)."""
    ctx = api_app.state.crm
    saved = ctx.settings
    ctx.settings = saved.model_copy(update={"addin_record_url": RECORD_URL})
    yield RECORD_URL
    ctx.settings = saved


def field(tab: Any, label: str) -> Any:
    return tab.locator("#record-fields .field", has=tab.locator("dt", has_text=label)).locator("dd")


def test_a_record_opens_in_the_pane_and_back_returns_the_way_it_came(
        live_server: LiveServer, client: Any, admin: TestUser, addin_dev_mode: None, record_url: str, pane: Any,
        shot: Shot) -> None:
    from playwright.sync_api import expect

    account = created(client, admin, "accounts", {"name": "Fabrikam"})
    jane = created(client, admin, "contacts", {"first_name": "Jane", "last_name": "Doe", "job_title": "Buyer",
                                               "email_address1": JANE[1], "parent_account_id": account["id"]})
    case = created(client, admin, "cases", {"title": "Printer jam", "customer_type": "contact",
                                            "customer_id": jane["id"]})
    created(client, admin, "activities", {"activity_type": "phone_call", "subject": "Called about the jam",
                                          "regarding_type": "case", "regarding_id": case["id"]})
    open_pane(pane, live_server, admin.token, mail(sender=JANE, subject="Jam again"))
    expect(pane.locator("body")).to_have_attribute("data-state", "ready")

    pane.locator('#people a[data-action="open-record"]', has_text="Jane Doe").click()
    expect(pane.locator("body")).to_have_attribute("data-state", "record")
    expect(pane.locator("#item")).to_be_hidden()
    expect(pane.locator("#record-name")).to_have_text("Jane Doe")
    expect(pane.locator("#record-type")).to_have_text("Contact · Active")
    expect(field(pane, "Job title")).to_have_text("Buyer")
    expect(field(pane, "Account")).to_have_text("Fabrikam")
    expect(pane.locator("#record-cases > li")).to_have_count(1)
    expect(pane.locator("#record-cases > li")).to_contain_text("Printer jam")
    link = pane.locator("#record-open")
    expect(link).to_be_visible()
    assert link.get_attribute("href") == f"https://crm.example.com/main?etn=contact&id={jane['id']}"
    assert link.get_attribute("target") == "_blank" and link.get_attribute("rel") == "noopener"
    shot("contact")

    pane.locator('#record-cases a[data-action="open-record"]', has_text="Printer jam").click()
    expect(pane.locator("#record-name")).to_have_text("Printer jam")
    expect(field(pane, "Customer")).to_have_text("Jane Doe")
    expect(pane.locator("#record-activities > li")).to_contain_text("Called about the jam")
    expect(pane.locator("#record-cases-panel")).to_be_hidden()  # a case has no cases of its own
    shot("case")

    pane.locator('[data-action="back"]').click()
    expect(pane.locator("#record-name")).to_have_text("Jane Doe")
    pane.locator('[data-action="back"]').click()
    expect(pane.locator("body")).to_have_attribute("data-state", "ready")
    expect(pane.locator("#record")).to_be_hidden()
    expect(pane.locator("#subject")).to_have_text("Jam again")
    shot("back-to-the-mail")


def test_without_a_record_page_the_record_opens_in_the_pane_only(
        live_server: LiveServer, client: Any, admin: TestUser, addin_dev_mode: None, pane: Any) -> None:
    from playwright.sync_api import expect

    created(client, admin, "contacts", {"first_name": "Jane", "last_name": "Doe", "email_address1": JANE[1]})
    open_pane(pane, live_server, admin.token, mail(sender=JANE))
    pane.locator('#people a[data-action="open-record"]').click()
    expect(pane.locator("#record-name")).to_have_text("Jane Doe")
    expect(pane.locator("#record-open")).to_be_hidden()


def test_a_lead_like_an_existing_one_is_created_only_when_the_rep_says_so(
        live_server: LiveServer, client: Any, admin: TestUser, addin_dev_mode: None, pane: Any,
        shot: Shot) -> None:
    from playwright.sync_api import expect

    created(client, admin, "leads", {"first_name": "Lee", "last_name": "Ray", "subject": "Printers",
                                     "email_address1": "lee@prospect.example"})
    open_pane(pane, live_server, admin.token, mail(sender=("Lee Ray", "lee@prospect.example"),
                                                   subject="More printers"))
    expect(pane.locator("body")).to_have_attribute("data-state", "ready")
    pane.locator("#lead-panel summary").click()
    pane.locator("#lead-track").uncheck()  # no mailbox here: the lead alone
    pane.locator('[data-action="create-lead"]').click()

    expect(pane.locator("#problem .detail")).to_contain_text("possible duplicates")
    expect(pane.locator("#lead-duplicate-list > li")).to_have_count(1)
    expect(pane.locator("#lead-duplicate-list > li")).to_have_text("Lead Printers Open (same email)")
    assert len(client.get("/api/v1/leads", headers=admin.headers).json()["items"]) == 1
    shot("duplicates")

    pane.locator('[data-action="create-lead-anyway"]').click()
    expect(pane.locator("#message")).to_have_text("Lead “Lee Ray” created.")
    expect(pane.locator("#problem")).to_be_hidden()
    leads = client.get("/api/v1/leads", headers=admin.headers).json()["items"]
    assert sorted(lead["subject"] for lead in leads) == ["More printers", "Printers"]
    expect(pane.locator("#lead-duplicates")).to_be_hidden()  # the forms start afresh
    shot("created-anyway")
