"""The task pane's reads over HTTP: GET /addin/api/context and /addin/api/search, signed in (here with the
development mode's CRM tokens; the Entra ID sign-in itself is test_addin_auth.py's), within the caller's reach,
and refused without a token."""

from collections.abc import Iterator
from typing import Any

import pytest

from addin_manifest.auth.principal import AddinAuth
from tests.api import created, problem
from tests.org import OrgBuilder


@pytest.fixture
def dev_mode(client: Any) -> Iterator[None]:
    client.app.state.addin_auth = AddinAuth(validator=None, dev_tokens=True)
    yield
    del client.app.state.addin_auth


def test_the_context_of_a_mail_in_one_call(client, org: OrgBuilder, dev_mode: None) -> None:
    admin = org.admin()
    account = created(client, admin, "accounts", {"name": "Fabrikam <b>Inc</b>"})
    jane = created(client, admin, "contacts", {"first_name": "Jane", "last_name": "Doe",
                                               "email_address1": "jane@fabrikam.example",
                                               "parent_account_id": account["id"]})
    created(client, admin, "cases", {"title": "Printer jam", "customer_type": "contact", "customer_id": jane["id"]})

    r = client.get("/addin/api/context", params={"sender": "Jane Doe <jane@fabrikam.example>",
                                                  "to": ["rep@contoso.example"], "cc": ["x@y.example"],
                                                  "internet_message_id": "<unknown@example.com>"},
                   headers=admin.headers)

    assert r.status_code == 200, r.text
    body = r.json()
    assert [(p["address"], p["role"], [x["name"] for x in p["records"]]) for p in body["people"]] == [
        ("jane@fabrikam.example", "from", ["Jane Doe"]), ("rep@contoso.example", "to", []),
        ("x@y.example", "cc", [])]
    assert [(c["title"], c["customer"]["name"]) for c in body["open_cases"]] == [("Printer jam", "Jane Doe")]
    assert body["tracked"] is None


def test_search_and_its_errors(client, org: OrgBuilder, dev_mode: None) -> None:
    admin = org.admin()
    created(client, admin, "accounts", {"name": "Fabrikam"})
    r = client.get("/addin/api/search", params={"q": "fab", "types": ["account"]}, headers=admin.headers)
    assert r.status_code == 200 and [f["name"] for f in r.json()] == ["Fabrikam"]
    problem(client.get("/addin/api/search", params={"q": "f"}, headers=admin.headers), 422)
    problem(client.get("/addin/api/search", params={"q": "fab", "types": ["invoice"]}, headers=admin.headers), 422)


def test_no_token_no_context(client) -> None:
    problem(client.get("/addin/api/context", params={"sender": "jane@fabrikam.example"}), 401)
    problem(client.get("/addin/api/search", params={"q": "fab"}), 401)
