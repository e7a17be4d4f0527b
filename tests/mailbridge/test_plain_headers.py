"""Plain headers read without the header registry (mailbridge/message/plain_headers.py) give exactly the text the
registry gives: over generated values (folded, 8-bit, encoded words, dates good and bad), over CPython's corpus
of real-world mail, and through the whole of normalise()."""

import datetime as dt
import importlib
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bench.imap_corpus import Generator
from mailbridge.errors import Unreadable
from mailbridge.message.mime_policy import parsing_policy
from mailbridge.message.mime_split import parse_bytes
from mailbridge.message.plain_headers import NOT_PLAIN, PLAIN, plain_header

CORPUS = Path(__file__).parent / "corpus" / "cpython"
normalise_module = importlib.import_module("mailbridge.message.normalise")  # the package exports the function
NAMES = ["Subject", "In-Reply-To", "References", "Date"]
DATES = [
    "Tue, 03 Nov 2026 10:00:00 +0000", "3 Nov 2026 10:00 -0500", "Tue, 3 Nov 26 10:00:00 EST",
    "Tue, 3 Nov 2026 10:00:00", "Tue, 03 Nov 2026 10:00:00 -0000", "Tue, 31 Feb 2026 10:00:00 +0000", "yesterday",
    "Tue, 03 Nov 2026 25:61:00 +0000", "Tue,  3 Nov 2026 10:00:00 +0000 (UTC)", "2026-11-03T10:00:00Z",
    "Tue, 03 Nov 2026 10:00:00 +9999", "0", "  ",
]
_FOLD = st.sampled_from(["\r\n ", "\r\n\t"])
_WORDS = st.text(alphabet=st.characters(codec="latin-1", exclude_characters="\r\n\x00"), max_size=20) | st.sampled_from(
    ["=?utf-8?q?caf=C3=A9?=", "=?iso-8859-1?b?Y2Fm6Q==?=", "<a@b.example>", "Re:", "  ", "\t", "=?", "?="])


@st.composite
def header_values(draw: st.DrawFn) -> str:
    if draw(st.booleans()):
        value = draw(st.sampled_from(DATES)) if draw(st.booleans()) else draw(
            st.datetimes(min_value=dt.datetime(1970, 1, 2), max_value=dt.datetime(2100, 1, 1)).map(
                lambda d: d.strftime("%a, %d %b %Y %H:%M:%S +0100")))
    else:
        value = " ".join(draw(st.lists(_WORDS, max_size=5)))
    if draw(st.booleans()) and " " in value.strip():  # fold it at a space
        head, _, tail = value.strip().partition(" ")
        value = f"{head}{draw(_FOLD)}{tail}"
    return value


def _message(headers: list[tuple[str, str]]) -> object:
    lines = "".join(f"{name}: {value}\r\n" for name, value in headers)
    raw = f"From: a@b.example\r\n{lines}\r\nbody\r\n".encode("latin-1")
    return parse_bytes(raw, parsing_policy)


def _registry_text(message: object, name: str) -> str | None:
    value = message.get(name)  # type: ignore[attr-defined]
    return None if value is None else str(value)


@given(st.sampled_from(NAMES), header_values(), st.booleans())
def test_a_plain_header_reads_as_the_registry_reads_it(name: str, value: str, twice: bool) -> None:
    headers = [(name, value), *([(name, "second")] if twice else [])]  # the first one counts, as with get()
    message = _message(headers)
    plain = plain_header(message, name)  # type: ignore[arg-type]
    if plain is not NOT_PLAIN:
        assert plain == _registry_text(message, name)


@pytest.mark.parametrize("name", NAMES)
def test_an_absent_header_is_none_and_8_bit_or_encoded_text_goes_to_the_registry(name: str) -> None:
    assert plain_header(_message([("X-Other", "x")]), name) is None  # type: ignore[arg-type]
    assert plain_header(_message([(name, "caf\xe9 =?utf-8?q?x?=")]), name) is NOT_PLAIN  # type: ignore[arg-type]


def test_ordinary_mail_is_read_without_the_registry() -> None:
    generator = Generator(3)
    for i in range(50):
        message = parse_bytes(generator.message(i)[0], parsing_policy)
        for name in ("Subject", "Date"):
            assert plain_header(message, name) == _registry_text(message, name)  # type: ignore[arg-type]


@pytest.mark.parametrize("path", sorted(CORPUS.glob("*.txt")), ids=lambda p: p.name)
def test_cpythons_corpus_normalises_the_same_with_and_without_plain_headers(path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    raw = path.read_bytes()
    fast = _outcome(raw)
    monkeypatch.setattr(normalise_module, "PLAIN", frozenset())  # every header through the registry
    assert _outcome(raw) == fast
    assert PLAIN  # the fast path was on for the first reading


def _outcome(raw: bytes) -> object:
    try:
        return normalise_module.normalise(raw)
    except Unreadable as exc:
        return (exc.reason, str(exc))
