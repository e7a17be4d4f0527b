"""Add-in requests: whatever the task pane (or anyone holding a token) sends to /addin/api (wrong types, huge
strings, any Unicode, NUL), the answer is a success or a 4xx problem, never a 5xx. Signed in with the
development mode's CRM tokens, as tests/addin_manifest/test_context_routes.py does."""

from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from addin_manifest.auth.principal import AddinAuth
from tests.fuzz.profiles import fewer
from tests.org import TestUser

TEXT = st.one_of(
    st.text(max_size=50),
    st.sampled_from(
        ["", "\x00", "a" * 5000, "jane@bücher.example", "Jane <jane@fabrikam.example>", "<m@x>", "%00", "../.."]
    ),
)
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
    max_leaves=8,
)
FIELDS = [
    "item_id",
    "internet_message_id",
    "conversation_id",
    "mailbox",
    "regarding",
    "email",
    "first_name",
    "last_name",
    "subject",
    "title",
    "customer",
    "series",
    "type",
    "id",
    "track",
]
BODY = st.one_of(st.dictionaries(st.sampled_from(FIELDS), JSON, max_size=6), JSON)
POSTS = [
    "/addin/api/track",
    "/addin/api/contacts",
    "/addin/api/leads",
    "/addin/api/cases",
    "/addin/api/track-appointment",
    "/addin/api/templates/00000000-0000-0000-0000-000000000000/render",
]


@pytest.fixture
def dev_mode(client: Any) -> Iterator[None]:
    client.app.state.addin_auth = AddinAuth(validator=None, dev_tokens=True)
    yield
    del client.app.state.addin_auth


def _no_5xx(response: Any) -> None:
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        assert response.headers["content-type"].startswith("application/problem+json"), response.text


@fewer(3)
@given(
    sender=st.one_of(st.none(), TEXT),
    to=st.lists(TEXT, max_size=3),
    mid=st.one_of(st.none(), TEXT),
    q=TEXT,
    types=st.lists(TEXT, max_size=2),
    limit=st.one_of(TEXT, st.integers()),
)
@example(sender="\x00", to=["\x00@x.example"], mid="\x00", q="\x00\x00", types=[], limit="10")
def test_the_reads_answer_without_a_server_error(
    client,
    admin: TestUser,
    dev_mode: None,
    sender: str | None,
    to: list[str],
    mid: str | None,
    q: str,
    types: list[str],
    limit: Any,
) -> None:
    params = {k: v for k, v in {"sender": sender, "to": to, "internet_message_id": mid}.items() if v is not None}
    _no_5xx(client.get("/addin/api/context", params=params, headers=admin.headers))
    _no_5xx(client.get("/addin/api/search", params={"q": q, "types": types, "limit": limit}, headers=admin.headers))
    kind, record_id = quote(q[:20] or "x", safe=""), quote(sender or "x", safe="")  # as a browser would send them
    _no_5xx(client.get(f"/addin/api/records/{kind}/{record_id}", headers=admin.headers))


@fewer(3)
@given(path=st.sampled_from(POSTS), body=BODY)
@example(path="/addin/api/contacts", body={"internet_message_id": "\x00", "email": "a@b.example", "last_name": "\x00"})
def test_the_writes_answer_without_a_server_error(
    client, admin: TestUser, dev_mode: None, path: str, body: Any
) -> None:
    _no_5xx(client.post(path, json=body, headers=admin.headers))
