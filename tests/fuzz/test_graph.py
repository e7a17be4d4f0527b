"""Graph responses: whatever JSON a delta page holds (missing @odata links, wrong types), reading it gives
pages of changes or our ProtocolError (a MailError the sync policy handles), never a KeyError or TypeError
that would end the sync as a bug."""

from typing import Any

from hypothesis import example, given
from hypothesis import strategies as st

from mailbridge.errors import MailError
from mailbridge.sources.graph.delta import pages
from mailbridge.sources.graph.errors import error_of, response_error
from tests.fuzz.profiles import FUZZ

URL = "https://graph.example/v1.0/users/u/mailFolders/f/messages/delta"
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)
MESSAGE = st.fixed_dictionaries(
    {"id": st.one_of(st.text(min_size=1, max_size=20), JSON)},
    optional={
        "@removed": JSON,
        "isRead": JSON,
        "flag": st.one_of(st.fixed_dictionaries({"flagStatus": JSON}), JSON),
        "categories": JSON,
        "receivedDateTime": st.one_of(st.sampled_from(["2025-01-01T09:00:00Z", "nope", ""]), JSON),
    },
)
PAGE = st.fixed_dictionaries(
    {},
    optional={
        "value": st.one_of(st.lists(st.one_of(MESSAGE, JSON), max_size=5), JSON),
        "@odata.nextLink": st.one_of(st.just(URL + "?next"), JSON),
        "@odata.deltaLink": st.one_of(st.just(URL + "?delta"), JSON),
    },
)


class _Client:
    """GraphClient.get_json's contract: a dict (anything else is its own error), one per page."""

    def __init__(self, payloads: list[dict[str, Any]]) -> None:
        self.payloads = payloads

    def get_json(self, url: str, what: str, **_: Any) -> dict[str, Any]:
        assert isinstance(url, str), url
        return self.payloads.pop(0) if self.payloads else {"value": [], "@odata.deltaLink": URL + "?delta"}


@FUZZ
@given(st.lists(PAGE, min_size=1, max_size=3))
@example([{"value": 5}])  # found by this test: TypeError iterating a non-list value
@example([{"value": [{"id": "a", "categories": 3}]}])  # found by this test: TypeError on categories
@example([{"@odata.nextLink": 7}])  # found by this test: a non-text link was requested as the next page
def test_a_delta_page_is_read_or_refused_as_a_protocol_error(payloads: list[dict[str, Any]]) -> None:
    try:
        for n, page in enumerate(pages(_Client(payloads), URL, URL, 50)):  # type: ignore[arg-type]
            assert all(isinstance(c.id, str) and c.id for c in page.changes)
            assert all(isinstance(c, str) for c in (*(x for c in page.changes for x in c.categories),))
            assert page.next_link is None or isinstance(page.next_link, str)
            assert page.delta_link is None or isinstance(page.delta_link, str)
            if n > 5:
                break
    except MailError:
        pass


@FUZZ
@given(st.integers(100, 599), JSON)
def test_an_error_body_becomes_one_of_our_errors(status: int, payload: Any) -> None:
    code, message = error_of(payload)
    assert isinstance(code, str) and isinstance(message, str)
    assert isinstance(response_error(status, payload, "read the folder"), MailError)
