"""The task pane's actions end to end: Chromium, the app served for real, and a real Dovecot holding the mail.
The rep tracks the mail in view regarding the account he picks, untracks it, and makes a case of it, each through
the page; the server reads the mail from his mailbox each time. Screenshots under
var/test-artifacts/addin-taskpane/<test>/."""

import email.utils
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from tests.addin_manifest import taskpane_fixtures
from tests.addin_manifest.taskpane_fixtures import Shot, mail, open_pane
from tests.api import created
from tests.live_server import LiveServer
from tests.mailbridge.conftest import Mailbox as DovecotAccount
from tests.mailbridge.tracking_fixtures import append, crm_mailbox, emails
from tests.mailbridge.tracking_fixtures import mail as raw_mail
from tests.org import OrgBuilder, TestUser

pane, shot, addin_dev_mode = taskpane_fixtures.pane, taskpane_fixtures.shot, taskpane_fixtures.addin_dev_mode
JANE = ("Jane Doe", "jane@fabrikam.example")


def test_track_untrack_and_create_a_case_through_the_pane(
        live_server: LiveServer, client: Any, admin: TestUser, org: OrgBuilder,
        session_factory: sessionmaker[Session], mailbox: DovecotAccount, addin_dev_mode: None, pane: Any,
        shot: Shot) -> None:
    from playwright.sync_api import expect

    box = crm_mailbox(client, admin, org, session_factory, mailbox)
    account = created(client, admin, "accounts", {"name": "Fabrikam"})
    jane = created(client, admin, "contacts", {"first_name": "Jane", "last_name": "Doe", "email_address1": JANE[1],
                                               "parent_account_id": account["id"]})
    message_id = email.utils.make_msgid(domain="fabrikam.example")
    append(box.account, raw_mail(sender=f"Jane Doe <{JANE[1]}>", to=box.address, subject="Printer on fire",
                                 message_id=message_id))
    item = mail(sender=JANE, to=[("Rep", box.address)], subject="Printer on fire", internet_message_id=message_id)
    open_pane(pane, live_server, box.user.token, item)
    expect(pane.locator("body")).to_have_attribute("data-state", "ready")
    expect(pane.locator("#tracked-status")).to_contain_text("Not tracked")
    shot("untracked")

    pane.locator("#regarding-search").fill("Fabri")
    pane.locator('#regarding-results [data-action="pick"]', has_text="Fabrikam").first.click()
    pane.locator('[data-action="track"]').click()
    expect(pane.locator("#message")).to_have_text("Tracked: regarding Fabrikam")
    expect(pane.locator("#tracked-status")).to_contain_text("Fabrikam")
    [activity] = emails(client, box.user)
    assert activity["regarding_id"] == account["id"] and activity["subject"] == "Printer on fire"
    shot("tracked")

    pane.locator('[data-action="untrack"]').click()
    expect(pane.locator("#message")).to_have_text("Untracked.")
    expect(pane.locator("#tracked-status")).to_contain_text("Not tracked")
    assert emails(client, box.user) == []
    shot("untracked-again")

    pane.locator("#case-panel summary").click()
    expect(pane.locator("#case-title")).to_have_value("Printer on fire")
    pane.locator("#case-customer").select_option(value=f"contact:{jane['id']}")
    pane.locator('[data-action="create-case"]').click()
    expect(pane.locator("#message")).to_contain_text("created and this mail tracked to it")
    [activity] = emails(client, box.user)
    assert activity["regarding_type"] == "case"
    expect(pane.locator("#cases")).to_contain_text("Printer on fire")
    shot("case-created")


def test_a_case_for_a_customer_found_by_the_forms_search(
        live_server: LiveServer, client: Any, admin: TestUser, org: OrgBuilder,
        session_factory: sessionmaker[Session], mailbox: DovecotAccount, addin_dev_mode: None, pane: Any,
        shot: Shot) -> None:
    """The sender is nobody the CRM knows (a colleague of the customer's, a forwarded mail): the agent finds the
    customer by name in the case form."""
    from playwright.sync_api import expect

    box = crm_mailbox(client, admin, org, session_factory, mailbox)
    contoso = created(client, admin, "accounts", {"name": "Contoso Pharmaceuticals"})
    message_id = email.utils.make_msgid(domain="elsewhere.example")
    append(box.account, raw_mail(sender="Sam <sam@elsewhere.example>", to=box.address, subject="Broken labels",
                                 message_id=message_id))
    open_pane(pane, live_server, box.user.token, mail(sender=("Sam", "sam@elsewhere.example"),
                                                      to=[("Rep", box.address)], subject="Broken labels",
                                                      internet_message_id=message_id))
    expect(pane.locator("body")).to_have_attribute("data-state", "ready")
    pane.locator("#case-panel summary").click()
    expect(pane.locator("#case-customer option")).to_have_text(["Choose the customer"])  # nobody known

    pane.locator("#case-customer-search").fill("Conto")
    pane.locator('#case-customer-results [data-action="pick-customer"]', has_text="Contoso").click()
    expect(pane.locator("#case-customer")).to_have_value(f"account:{contoso['id']}")
    expect(pane.locator("#case-customer-results li")).to_have_count(0)
    shot("customer-found")
    pane.locator('[data-action="create-case"]').click()
    expect(pane.locator("#message")).to_contain_text("created and this mail tracked to it")
    [case] = client.get("/api/v1/cases", headers=admin.headers).json()["items"]
    assert (case["title"], case["customer_type"], case["customer_id"]) == ("Broken labels", "account", contoso["id"])
    [activity] = emails(client, box.user)
    assert (activity["regarding_type"], activity["regarding_id"]) == ("case", case["id"])
