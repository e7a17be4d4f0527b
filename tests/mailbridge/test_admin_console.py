"""The admin console (/admin/) in a real browser, against the app served for real and a real Dovecot: an admin
sets up a profile and a mailbox, tests, approves and enables it, previews it, asks for a sync and watches its mail
arrive; a salesperson's token gets an error instead of the console; hostile names and messages stay text.

No Celery runs here: a thread does what the workers do (claim the due mailboxes, run each one's pass). Each step
is kept as a screenshot under var/test-artifacts/admin-console/<test>/ (or $CRM_TEST_ARTIFACTS/admin-console)."""

import re
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from crm_core.db.unit_of_work import UnitOfWork
from crm_core.security import secrets
from crm_core.security.secrets import Keyring
from crm_core.services import mailbox_sync
from mailbridge.runs import run_mailbox_sync
from mailbridge.runs.dispatch import claim_due
from mailbridge.tracking import TrackingOptions
from mailbridge.tracking.quarantine import quarantine
from mailbridge.tracking.results import SourceItem
from tests.api import created
from tests.browser import Shot, chromium_tab, screenshots
from tests.live_server import LiveServer
from tests.mailbridge.conftest import Mailbox as DovecotAccount
from tests.mailbridge.tracking_fixtures import TEST_KEY, append, mail
from tests.org import OrgBuilder, TestUser

WAIT_MS = 60_000  # a slow machine (two cores, a browser, a server, a worker and Dovecot at once)
HOSTILE = '<img src=x onerror="document.title=\'pwned\'">'


# --- fixtures -------------------------------------------------------------------------------------------------
@pytest.fixture
def page() -> Iterator[Any]:
    with chromium_tab({"width": 1280, "height": 1000}, WAIT_MS) as tab:
        yield tab


@pytest.fixture
def shot(page: Any, request: pytest.FixtureRequest) -> Shot:
    return screenshots(page, "admin-console", request.node.name)


@pytest.fixture
def sync_worker(live_server: LiveServer, session_factory: sessionmaker[Session]) -> Iterator[list[BaseException]]:
    """What the workers do, in a thread over the live server's database: claim the due mailboxes every 0.3 s and
    run each one's pass. Yields the errors it met (none expected)."""
    secrets.install(session_factory, Keyring(TEST_KEY))  # the key the API sealed the mailbox password with
    stop = threading.Event()
    errors: list[BaseException] = []
    options = TrackingOptions(timeout=10, parse_workers=0)

    def work() -> None:
        while not stop.is_set():
            try:
                for mailbox_id in claim_due(session_factory):
                    run_mailbox_sync(session_factory, mailbox_id, options=options)
            except Exception as exc:  # kept for the test to see; the loop goes on as a worker would
                errors.append(exc)
            stop.wait(0.3)

    thread = threading.Thread(target=work, name="crm-test-worker", daemon=True)
    thread.start()
    try:
        yield errors
    finally:
        stop.set()
        thread.join(timeout=60)
    assert not thread.is_alive(), "the worker thread did not stop"


def open_console(page: Any, server: LiveServer, token: str) -> None:
    page.goto(f"{server.url}/admin#token={token}")  # the fragment survives the redirect to /admin/


def field(card: Any, name: str) -> Any:
    return card.locator(f'[data-field="{name}"]').first


# --- the page itself ------------------------------------------------------------------------------------------
def test_the_page_is_served_without_data_and_locked_to_its_own_origin(client) -> None:
    redirect = client.get("/admin", follow_redirects=False)
    assert redirect.status_code == 308 and redirect.headers["location"] == "admin/"
    page = client.get("/admin/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    policy = page.headers["content-security-policy"]
    assert "default-src 'none'" in policy and "script-src 'self'" in policy and "connect-src 'self'" in policy
    assert "http" not in page.text.replace("http-equiv", "")  # nothing fetched from elsewhere
    for name in ("admin.js", "api.js", "dom.js", "health.js", "forms.js", "reports.js", "admin.css"):
        asset = client.get(f"/admin/{name}")
        kind = "text/css" if name.endswith(".css") else "text/javascript"
        assert asset.status_code == 200 and asset.headers["content-type"].startswith(kind), name
        assert "innerHTML" not in asset.text and "insertAdjacentHTML" not in asset.text and "://" not in asset.text
    assert client.get("/admin/console_route.py").status_code == 404
    assert client.get("/admin/..%2Fconsole_route.py").status_code == 404


# --- in the browser -------------------------------------------------------------------------------------------
def test_an_admin_sets_up_a_mailbox_and_watches_its_mail_arrive(
        live_server: LiveServer, org: OrgBuilder, admin: TestUser, mailbox: DovecotAccount,
        sync_worker: list[BaseException], page: Any, shot: Shot) -> None:
    from playwright.sync_api import expect

    rep = org.user("rep@contoso.example", ["Salesperson"])
    open_console(page, live_server, admin.token)
    expect(page.locator("body")).to_have_attribute("data-state", "ready")
    expect(page.locator("#no-mailboxes")).to_be_visible()
    assert "token" not in page.url  # the token left the address bar
    shot("opened")

    profile = page.locator("#profile-form")
    page.locator("#profile-name").fill("Test Dovecot")
    page.locator("#profile-in-host").fill(mailbox.server.host)
    page.locator("#profile-in-port").fill(str(mailbox.server.port))
    page.locator("#profile-in-security").select_option("plain")
    profile.get_by_role("button", name="Add profile").click()
    expect(profile.locator(".form-message")).to_have_text("Profile “Test Dovecot” added.")
    expect(page.locator("#profiles tbody")).to_contain_text(f"imap {mailbox.server.host}:{mailbox.server.port}")
    shot("profile-added")

    form = page.locator("#mailbox-form")
    page.locator("#mailbox-owner").select_option(label="Rep <rep@contoso.example>")
    expect(page.locator("#mailbox-address")).to_have_value("rep@contoso.example")  # filled in from the user
    expect(page.locator("#mailbox-profile")).to_have_value(re.compile(".+"))  # the profile just added
    page.locator("#mailbox-username").fill(mailbox.username)
    page.locator("#mailbox-password").fill(mailbox.password)
    page.locator("#mailbox-filter").select_option("all")
    page.locator("#mailbox-folders").fill("INBOX")
    page.locator("#mailbox-interval").fill("3600")
    page.locator("#mailbox-incoming").uncheck()
    shot("mailbox-form")
    form.get_by_role("button", name="Add mailbox").click()
    expect(form.locator(".form-message")).to_contain_text("added: test its connection")

    card = page.locator("article.mailbox").filter(has_text="rep@contoso.example")
    expect(field(card, "approval")).to_have_text("pending approval")
    expect(field(card, "incoming")).to_have_text("incoming sync off")
    expect(field(card, "last_test")).to_have_text("not tested")
    expect(field(card, "tracked_today")).to_have_text("0")
    expect(field(card, "last_success_on")).to_have_text("never")
    shot("mailbox-added")

    card.get_by_role("button", name="Test connection").click()
    expect(card.locator(".outcome")).to_contain_text("Connection test: ok")
    expect(field(card, "last_test")).to_contain_text("ok")
    shot("tested")

    card.get_by_role("button", name="Approve").click()
    expect(field(card, "approval")).to_have_text("approved")
    expect(card.get_by_role("button", name="Approve")).to_be_hidden()
    card.get_by_role("button", name="Enable incoming sync").click()
    expect(field(card, "incoming")).to_have_text("incoming sync on")
    expect(card.get_by_role("button", name="Disable incoming sync")).to_be_visible()
    # Enabled, the mailbox is due: the worker's first pass reads the (empty) inbox.
    expect(field(card, "last_success_on")).not_to_have_text("never")
    expect(field(card, "stage")).to_have_text("idle")
    expect(field(card, "tracked_today")).to_have_text("0")
    expect(field(card, "next_run")).to_contain_text("in ")  # an hour away: only "Sync now" brings it sooner
    first_success = field(card, "last_success_on").text_content()
    shot("approved-enabled-first-pass")

    for n in range(3):
        append(mailbox, mail(sender="jane@fabrikam.example", to=rep.email, subject=f"Order {n}"))

    card.get_by_role("button", name="Dry run").click()
    report = card.locator(".dry-run")
    expect(report.locator('[data-field="fetched"]')).to_have_text("3")
    expect(report.locator('[data-field="tracked"]')).to_have_text("3")
    expect(report.locator(".would-create")).to_be_visible()
    expect(report.locator(".would-send")).to_contain_text("None.")
    expect(field(card, "tracked_today")).to_have_text("0")  # the preview wrote nothing
    shot("dry-run")

    card.get_by_role("button", name="Sync now").click()
    expect(card.locator(".outcome")).to_contain_text("Sync requested")
    expect(field(card, "tracked_today")).to_have_text("3")
    expect(field(card, "stage")).to_have_text("idle")
    expect(field(card, "last_success_on")).not_to_have_text(first_success)
    expect(field(card, "last_success_on")).to_have_text(re.compile(r"\d{1,2}:\d{2}"))
    expect(card.locator(".folders tbody")).to_contain_text("INBOX")
    shot("synced")

    card.get_by_role("button", name="Run history").click()
    runs = card.locator(".runs tbody tr")
    expect(runs).to_have_count(2)
    expect(runs.first).to_contain_text("succeeded")
    shot("run-history")
    assert not sync_worker


def test_a_salesperson_gets_an_error_not_the_console(live_server: LiveServer, client, org: OrgBuilder,
                                                     admin: TestUser, page: Any, shot: Shot) -> None:
    from playwright.sync_api import expect

    rep = org.user("rep@contoso.example", ["Salesperson"])
    profile = created(client, admin, "email-server-profiles", {"name": "Mail", "incoming_host": "127.0.0.1",
                                                               "incoming_security": "plain"})
    created(client, admin, "mailboxes", {"name": "Rep's own mailbox", "email_address": rep.email,
                                         "regarding_type": "user", "regarding_id": str(rep.id),
                                         "server_profile_id": profile["id"], "password": "unused"})

    open_console(page, live_server, "not-a-token")
    expect(page.locator("#token-form")).to_be_visible()
    expect(page.locator("#message")).to_have_text("The token was refused: give a valid API token.")
    shot("refused-token")

    page.locator("#token").fill(rep.token)
    page.get_by_role("button", name="Open").click()
    expect(page.locator("body")).to_have_attribute("data-state", "error")
    expect(page.locator("#message")).to_contain_text("This console needs an administrator's token:")
    expect(page.locator("#message")).to_contain_text("no read privilege")
    expect(page.locator("#console")).to_be_hidden()
    expect(page.get_by_text("Rep's own mailbox")).to_have_count(0)
    shot("salesperson")

    page.locator("#token").fill(admin.token)  # the form stays to give another token
    page.get_by_role("button", name="Open").click()
    expect(page.locator("body")).to_have_attribute("data-state", "ready")
    expect(page.locator("article.mailbox").filter(has_text="Rep's own mailbox")).to_be_visible()
    expect(page.locator("#message")).to_have_text("")
    shot("admin-after-all")


def test_hostile_names_and_messages_are_shown_as_text(live_server: LiveServer, client, org: OrgBuilder,
                                                      admin: TestUser, session_factory: sessionmaker[Session],
                                                      page: Any, shot: Shot) -> None:
    from playwright.sync_api import expect

    rep = org.user("rep@contoso.example", ["Salesperson"])
    profile = created(client, admin, "email-server-profiles", {"name": HOSTILE, "incoming_host": "127.0.0.1",
                                                               "incoming_security": "plain"})
    box = created(client, admin, "mailboxes", {"name": HOSTILE, "email_address": rep.email,
                                               "regarding_type": "user", "regarding_id": str(rep.id),
                                               "server_profile_id": profile["id"], "password": "unused"})
    mailbox_id = uuid.UUID(box["id"])
    with UnitOfWork(session_factory) as uow:  # what a hostile server's answer or a hostile mail leaves behind
        mailbox_sync.alert(uow.session, mailbox_id, "error", "authentication", f"The server said: {HOSTILE}")
        quarantine(uow.session, mailbox_id, SourceItem(f"INBOX/{HOSTILE}", 1, 7, b"\x00broken"), "parse_failed",
                   f"cannot parse {HOSTILE}")
        uow.commit()

    open_console(page, live_server, admin.token)
    expect(page.locator("body")).to_have_attribute("data-state", "ready")
    card = page.locator("article.mailbox").filter(has_text=rep.email)
    expect(field(card, "name")).to_have_text(HOSTILE)
    alert = card.locator(".alert")
    expect(alert.locator(".text")).to_have_text(f"The server said: {HOSTILE}")
    quarantined = page.locator("#quarantine tbody tr")
    expect(quarantined).to_have_count(1)
    expect(quarantined).to_contain_text(f"INBOX/{HOSTILE}")
    expect(quarantined).to_contain_text(f"cannot parse {HOSTILE}")
    expect(page.locator("#profiles tbody")).to_contain_text(HOSTILE)
    expect(page.locator("#mailbox-profile option").first).to_contain_text(HOSTILE)
    assert page.locator("img").count() == 0 and page.title() == "Mail admin console"
    shot("hostile-text")

    alert.get_by_role("button", name="Dismiss").click()
    expect(card.locator(".alert")).to_have_count(0)
    expect(card.locator(".outcome")).to_have_text("Alert dismissed.")
    assert page.locator("img").count() == 0 and page.title() == "Mail admin console"
    shot("alert-dismissed")
