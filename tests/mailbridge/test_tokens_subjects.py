"""Tracking tokens and thread subjects: what correlation will match on."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailbridge.message import TrackingTokens
from mailbridge.message.subjects import thread_subject

TOKENS = TrackingTokens()


def test_format_parse_and_strip() -> None:
    assert TOKENS.format(1234) == "CRM:0001234"
    assert TOKENS.parse("RE: Offer CRM:0001234") == 1234
    assert TOKENS.parse("[crm:0001234] offer") == 1234  # any case, brackets allowed, anywhere
    assert TOKENS.parse("Offer XCRM:0001234") is None  # part of another word is no token
    assert TOKENS.parse("no token here") is None
    assert TOKENS.find("Re: [CRM:42]") == "CRM:0000042"
    assert TOKENS.remove("Re: Offer [CRM:0001234] now") == "Re: Offer now"
    assert TOKENS.append("Offer", 7) == "Offer CRM:0000007"
    assert TOKENS.append("Re: Offer CRM:0000007", 7) == "Re: Offer CRM:0000007"


def test_a_configured_prefix_is_used_and_checked() -> None:
    tokens = TrackingTokens(prefix="ACME", width=5)
    assert tokens.format(12) == "ACME:00012"
    assert tokens.parse("Re: ACME:00012") == 12
    assert tokens.parse("Re: CRM:00012") is None
    with pytest.raises(ValueError):
        TrackingTokens(prefix="a b")


@given(st.integers(min_value=0, max_value=10**12), st.text(max_size=40))
def test_a_formatted_token_is_found_in_any_subject(number: int, subject: str) -> None:
    assert TOKENS.parse(f"{TOKENS.remove(subject)} {TOKENS.format(number)}") == number
    assert TOKENS.remove(f"{subject} {TOKENS.format(number)}") == TOKENS.remove(subject)


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        ("Re: Offer", "offer"),
        ("RE: AW: Fwd: FW: WG: SV: Antw: Offer", "offer"),
        ("Re[2]: Offer", "offer"),
        ("Re:Re:  Offer   for  you", "offer for you"),
        ("[sales] Re: Offer", "offer"),
        ("Re: Offer CRM:0001234", "offer"),
        ("Regarding the offer", "regarding the offer"),
        ("Fwd:", ""),
    ],
)
def test_thread_subject_strips_prefixes_and_token(subject: str, expected: str) -> None:
    assert thread_subject(subject, TOKENS) == expected
