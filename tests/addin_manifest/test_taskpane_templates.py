"""Insert a template while writing a mail, as a rep does in headless Chromium against the app served for real:
the pane offers its Templates section only for a draft, proposes the first recipient's record, greys out the
templates for other kinds of record, sets the draft's subject only when it has none, and inserts the body at the
cursor as HTML in which a hostile name stays text; a record picked under Tracking takes the template instead.
Screenshots under var/test-artifacts/addin-taskpane/<test>/."""

import html
from typing import Any

from tests.addin_manifest import taskpane_fixtures
from tests.addin_manifest.taskpane_fixtures import HOSTILE, Shot, mail, open_pane, select_item
from tests.api import created
from tests.live_server import LiveServer
from tests.org import TestUser

pane, shot, addin_dev_mode = taskpane_fixtures.pane, taskpane_fixtures.shot, taskpane_fixtures.addin_dev_mode
JANE = ("Jane Doe", "jane@fabrikam.example")


def draft(to: list[tuple[str, str]], subject: str = "") -> dict[str, Any]:
    """A new mail being written, as Office.context.mailbox.item shows it in compose mode."""
    return {
        "compose": True,
        "subject": subject,
        "to": [{"displayName": n, "emailAddress": a} for n, a in to],
        "from": {"displayName": "Admin", "emailAddress": "admin@contoso.example"},
    }


def composed(tab: Any) -> dict[str, Any]:
    return tab.evaluate("window.__officeStub.composed")  # type: ignore[no-any-return]


def test_insert_a_template_into_a_draft(
    live_server: LiveServer, client: Any, admin: TestUser, addin_dev_mode: None, pane: Any, shot: Shot
) -> None:
    from playwright.sync_api import expect

    account = created(client, admin, "accounts", {"name": "Fabrikam"})
    jane = created(
        client,
        admin,
        "contacts",
        {"first_name": HOSTILE, "last_name": "Doe", "email_address1": JANE[1], "parent_account_id": account["id"]},
    )
    created(
        client,
        admin,
        "email-templates",
        {
            "name": "Welcome",
            "target_entity": "contact",
            "subject": "Welcome {{contact.first_name}}",
            "body_text": "Dear {{contact.first_name}}",
            "body_html": "<p>Dear <b>{{contact.first_name}}</b></p>",
        },
    )
    created(
        client,
        admin,
        "email-templates",
        {"name": "Lead follow-up", "target_entity": "lead", "subject": "Following up", "body_text": "Hello"},
    )
    created(
        client,
        admin,
        "email-templates",
        {"name": "Any record", "subject": "News", "body_html": "<p>Regards, {{user.full_name}}</p>"},
    )
    open_pane(pane, live_server, admin.token, draft([JANE]))
    expect(pane.locator("body")).to_have_attribute("data-state", "ready")

    expect(pane.locator("#templates-panel")).to_be_visible()
    record = pane.locator("#template-record")
    expect(record).to_have_value(f"contact:{jane['id']}")  # the first recipient's record
    expect(record.locator("option").first).to_have_text(f"Contact: {HOSTILE} Doe")  # a name is text
    assert pane.locator('#template option:has-text("Lead follow-up")').is_disabled()
    pane.locator("#template").select_option(label="Welcome (Contact, en)")
    # A draft is on no server yet: nothing to track or make a record from, only the picker for the template.
    expect(pane.locator("#tracked-status")).to_have_text("Not sent yet")
    expect(pane.locator('[data-action="track"]')).to_be_hidden()
    expect(pane.locator("#create")).to_be_hidden()
    expect(pane.locator("#regarding-search")).to_be_visible()
    shot("draft")

    pane.locator('[data-action="insert-template"]').click()
    expect(pane.locator("#message")).to_have_text("Template inserted, with its subject.")
    done = composed(pane)
    assert done["subject"] == f"Welcome {HOSTILE}"  # the subject is text, never markup
    assert done["inserted"] == [{"data": f"<p>Dear <b>{html.escape(HOSTILE)}</b></p>", "coercionType": "html"}]
    assert pane.title() != "pwned"
    shot("inserted")

    # The draft has a subject now: a second insertion leaves it alone.
    pane.locator('[data-action="insert-template"]').click()
    expect(pane.locator("#message")).to_have_text("Template inserted.")
    pane.wait_for_function("window.__officeStub.composed.inserted.length === 2")
    assert composed(pane)["subject"] == f"Welcome {HOSTILE}"

    # A record picked under Tracking takes the template: for an account, only "any record" templates fit.
    pane.locator("#regarding-search").fill("Fabrikam")
    pane.locator('#regarding-results [data-action="pick"][data-type="account"]').click()
    expect(record).to_have_value(f"account:{account['id']}")
    expect(pane.locator("#template")).to_have_value(
        pane.locator('#template option:has-text("Any record")').get_attribute("value")
    )
    pane.locator('[data-action="insert-template"]').click()
    expect(pane.locator("#message")).to_have_text("Template inserted.")
    pane.wait_for_function("window.__officeStub.composed.inserted.length === 3")
    assert composed(pane)["inserted"][2] == {"data": "<p>Regards, Admin</p>", "coercionType": "html"}
    shot("for-the-account")

    # A received mail is read, not written: no templates.
    select_item(pane, mail(sender=JANE))
    expect(pane.locator("#subject")).to_have_text("Hello")
    expect(pane.locator("#templates-panel")).to_be_hidden()
