"""The harness of the task pane's browser tests: Debian's Chromium driven by Playwright (as the admin console's
tests do), the page served for real by `live_server`, and Office.js answered by tests/addin_manifest/office_stub.js
(the test intercepts Microsoft's CDN address, so nothing leaves the machine). Tests sign in with the development
mode's CRM tokens (`addin_dev_mode`), handed to the stub's Office.auth.getAccessToken.

    def test_x(live_server, org, addin_dev_mode, pane, shot):
        open_pane(pane, live_server, org.admin().token, mail(sender=("Jane Doe", "jane@fabrikam.example")))
        expect(pane.locator("body")).to_have_attribute("data-state", "ready")
        shot("opened")

Screenshots go under var/test-artifacts/addin-taskpane/<test>/ (or $CRM_TEST_ARTIFACTS/addin-taskpane)."""

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from addin_manifest.auth.principal import AddinAuth
from addin_manifest.taskpane_route import OFFICE_JS
from tests.browser import Shot, chromium_tab, screenshots
from tests.live_server import LiveServer

OFFICE_STUB = Path(__file__).parent / "office_stub.js"
WAIT_MS = 30_000  # a slow machine: two cores, a browser and a server at once
PANE_SIZE = {"width": 340, "height": 900}  # Outlook's task pane is about 320 px wide
HOSTILE = '<img src=x onerror="document.title=\'pwned\'">'
Address = tuple[str, str]  # (display name, email address)


@pytest.fixture
def addin_dev_mode(api_app: Any) -> Iterator[None]:
    """The add-in's API accepts CRM API tokens (CRM_ADDIN_DEV_TOKENS), so that a test signs in without Entra ID."""
    api_app.state.addin_auth = AddinAuth(validator=None, dev_tokens=True)
    yield
    del api_app.state.addin_auth


@pytest.fixture
def pane() -> Iterator[Any]:
    """A Chromium tab the size of a task pane, where Microsoft's Office.js is the stub. Fails the test if the
    page's script threw or the Content-Security-Policy blocked anything."""
    with chromium_tab(PANE_SIZE, WAIT_MS, csp_errors=True) as tab:
        stub = OFFICE_STUB.read_text()
        tab.route(OFFICE_JS, lambda route: route.fulfill(status=200, body=stub,
                                                          content_type="text/javascript; charset=utf-8"))
        yield tab


@pytest.fixture
def shot(pane: Any, request: pytest.FixtureRequest) -> Shot:
    """shot("step") keeps the pane as it is now, numbered in order."""
    return screenshots(pane, "addin-taskpane", request.node.name)


def open_pane(tab: Any, server: LiveServer, token: str | None, item: dict[str, Any] | None, *,
              fragment: str = "", **config: Any) -> None:
    """Opens the task pane as Outlook would with `item` selected (None: no item); `token` is what
    Office.auth.getAccessToken gives. Other stub settings (tokenError, userProfile, sets) go in `config`."""
    settings = {"token": token, "item": item, **config}
    tab.add_init_script(f"window.__officeStubConfig = {json.dumps(settings)};")
    tab.goto(f"{server.url}/addin/taskpane.html{fragment}")


def select_item(tab: Any, item: dict[str, Any] | None) -> None:
    """The user selects another item in Outlook while the pane is pinned."""
    tab.evaluate("item => window.__officeStub.selectItem(item)", item)


def _details(who: Address) -> dict[str, str]:
    return {"displayName": who[0], "emailAddress": who[1]}


def _ews_id() -> str:
    return "AAMkAD" + uuid.uuid4().hex + "/+AAA="  # EWS ids hold / and +, which the REST form replaces


def mail(sender: Address, to: list[Address] | None = None, cc: list[Address] | None = None,
         subject: str = "Hello", internet_message_id: str | None = None, **more: Any) -> dict[str, Any]:
    """A received mail as Office.context.mailbox.item shows it in read mode."""
    return {"itemType": "message", "itemId": _ews_id(), "subject": subject, "from": _details(sender),
            "to": [_details(a) for a in to or [("Rita Rep", "rita@contoso.example")]],
            "cc": [_details(a) for a in cc or []], "conversationId": "AAQkAD" + uuid.uuid4().hex,
            "internetMessageId": internet_message_id or f"<{uuid.uuid4().hex}@fabrikam.example>", **more}


def appointment(organizer: Address, required: list[Address], optional: list[Address] | None = None,
                subject: str = "Meeting", series_id: str | None = None, **more: Any) -> dict[str, Any]:
    """A meeting as Office.context.mailbox.item shows it to an attendee."""
    return {"itemType": "appointment", "itemId": _ews_id(), "subject": subject, "organizer": _details(organizer),
            "requiredAttendees": [_details(a) for a in required],
            "optionalAttendees": [_details(a) for a in optional or []], "seriesId": series_id, **more}
