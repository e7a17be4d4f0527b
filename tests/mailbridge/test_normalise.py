"""Normalisation: what the pipeline can rely on in a NormalisedMessage, message by message."""

import datetime as dt
from pathlib import Path

import pytest

from mailbridge.message import NormaliseOptions, TrackingTokens, Unreadable, normalise

HOSTILE = Path(__file__).parent / "corpus" / "hostile"


def _raw(name: str) -> bytes:
    return (HOSTILE / name).read_bytes()


def _mail(headers: str, body: str = "Hello.\n") -> bytes:
    return (headers.strip() + "\n\n" + body).encode()


def test_identifiers_dates_and_threading_headers() -> None:
    m = normalise(_raw("tnef-winmail.eml"))
    assert m.message_id == "tnef@example.com"
    assert m.in_reply_to == "Original.1@example.com"  # domain lowercased, local part kept
    assert m.references == ("root@example.com", "Original.1@example.com")
    assert m.subject == "RE: AW: Offer [CRM:0001234]"
    assert m.thread_subject == "offer"
    assert m.tracking_token == "CRM:0001234"
    dated = normalise(_mail("From: a@example.com\nDate: Mon, 2 Jun 2025 10:00:00 +0200"))
    assert dated.sent_at == dt.datetime(2025, 6, 2, 8, 0, tzinfo=dt.UTC)
    garbled = normalise(_raw("idn-and-invalid-addresses.eml"))
    assert garbled.sent_at is None and "unreadable_date" in garbled.defects
    assert normalise(_mail("From: a@example.com")).message_id is None


def test_addresses_are_normalised_and_bad_ones_kept_aside() -> None:
    m = normalise(_raw("idn-and-invalid-addresses.eml"))
    assert [(a.display_name, a.address) for a in m.from_] == [("Bücher Shop", "info@bücher.example")]
    assert [a.address for a in m.to] == ["bob@example.org", "carol@bücher.example"]
    assert m.from_address is not None and m.from_address.domain == "bücher.example"
    unparseable = {(u.header, u.raw) for u in m.unparseable_addresses}
    assert ("to", '"not an address"') in unparseable
    assert not any("broken@" in a.address for a in m.to)
    assert m.reply_to == ()


def test_eight_bit_headers_and_wrong_or_unknown_charsets_are_read_with_defects() -> None:
    m = normalise(_raw("8bit-headers.eml"))
    assert m.from_[0].display_name == "Jürgen Müller"  # UTF-8 and Latin-1 bytes mixed in one header
    assert m.subject.startswith("Grüße aus Köln")
    assert m.text_body is not None and "Körper" in m.text_body
    charset = normalise(_raw("unknown-charset.eml"))
    assert charset.text_body is not None and "Qapla'" in charset.text_body and "café" in charset.text_body
    assert "unknown_charset:x-klingon" in charset.defects
    assert "wrong_charset:utf-8" in charset.defects


def test_html_is_sanitised_and_the_raw_html_kept() -> None:
    m = normalise(_raw("hostile-html.eml"))
    assert m.html_body is not None and m.raw_html is not None
    for danger in ("<script", "onerror", "onload", "onmouseover", "javascript:", "<iframe", "<style", "<form",
                   "tracker.evil.example", "position"):
        assert danger not in m.html_body.lower(), danger
    assert 'src="cid:logo@evil.example"' in m.html_body
    assert 'href="https://example.com/ok"' in m.html_body and "color:red" in m.html_body
    assert "<script>" in m.raw_html  # the audit copy is untouched
    allowed = normalise(_raw("hostile-html.eml"), NormaliseOptions(allow_remote_images=True))
    assert "tracker.evil.example/pixel.gif" in (allowed.html_body or "")
    [logo] = m.attachments
    assert (logo.content_id, logo.inline, logo.content_type) == ("logo@evil.example", True, "image/png")


def test_attachments_have_hash_size_and_a_size_limit() -> None:
    payload = "A" * 3000
    raw = _mail(
        'From: a@example.com\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="b"',
        f'--b\nContent-Type: text/plain\n\nSee attached.\n--b\nContent-Type: text/csv; name="big.csv"\n'
        f'Content-Disposition: attachment; filename="big.csv"\n\n{payload}\n--b\n'
        'Content-Type: application/pdf\nContent-Disposition: attachment; filename="small.pdf"\n\n%PDF\n--b--\n',
    )
    m = normalise(raw, NormaliseOptions(max_attachment_bytes=1000))
    big, small = m.attachments
    assert (big.filename, big.too_large, big.content, big.size) == ("big.csv", True, None, len(payload))
    assert len(big.sha256) == 64
    assert (small.filename, small.too_large, small.content) == ("small.pdf", False, b"%PDF")
    assert m.text_body == "See attached."


def test_tnef_is_kept_as_a_flagged_attachment() -> None:
    [winmail] = normalise(_raw("tnef-winmail.eml")).attachments
    assert (winmail.filename, winmail.is_tnef, winmail.content_type) == ("winmail.dat", True, "application/ms-tnef")
    assert winmail.content is not None and winmail.size == 204


def test_broken_mime_keeps_what_can_be_read() -> None:
    m = normalise(_raw("bad-base64.eml"))
    assert m.text_body == "Hello world"
    assert "InvalidBase64CharactersDefect" in m.defects
    broken = normalise(_raw("broken-boundary.eml"))
    assert "The boundary in the header is not the one used." in (broken.text_body or "")
    assert "broken_multipart" in broken.defects
    unterminated = normalise(_raw("unterminated-multipart.eml"))
    assert "Plain part" in (unterminated.text_body or "") and "HTML part" in (unterminated.html_body or "")


def test_machine_mail_is_recognised() -> None:
    m = normalise(_raw("auto-reply.eml"))
    assert m.is_auto_reply and m.is_bulk
    human = normalise(_mail("From: a@example.com\nAuto-Submitted: no"))
    assert not human.is_auto_reply and not human.is_bulk
    listed = normalise(_mail("From: a@example.com\nList-Unsubscribe: <mailto:u@example.com>"))
    assert listed.is_bulk and not listed.is_auto_reply


def test_fingerprint_survives_a_rewritten_message_id_and_tells_different_mail_apart() -> None:
    headers = "From: Alice <Alice@Example.com>\nDate: Mon, 2 Jun 2025 10:00:00 +0200\nMessage-ID: <{}@example.com>"
    original = normalise(_mail(headers.format("one"), "Hi Bob,\nthe offer.\n"))
    relayed = normalise(_mail(headers.format("rewritten"), "Hi Bob,  \r\nthe offer.\r\n").replace(b"\n", b"\r\n"))
    assert original.fingerprint == relayed.fingerprint
    other = normalise(_mail(headers.format("one"), "Hi Bob,\nanother offer.\n"))
    assert other.fingerprint != original.fingerprint and other.message_id == original.message_id


def test_participants_are_distinct() -> None:
    m = normalise(_mail("From: a@example.com\nTo: B <b@example.com>, a@EXAMPLE.com\nCc: b@example.com"))
    assert [p.address for p in m.participants()] == ["a@example.com", "b@example.com"]


def test_configured_token_prefix_is_used() -> None:
    options = NormaliseOptions(tokens=TrackingTokens(prefix="CASE"))
    m = normalise(_mail("From: a@example.com\nSubject: Re: Broken printer CASE:0000042"), options)
    assert (m.tracking_token, m.thread_subject) == ("CASE:0000042", "broken printer")


@pytest.mark.parametrize(
    ("raw", "options", "reason"),
    [
        (b"", NormaliseOptions(), "empty"),
        (b"  \r\n ", NormaliseOptions(), "empty"),
        (_mail("From: a@example.com", "x" * 5000), NormaliseOptions(max_message_bytes=1000), "too_large"),
        (_mail("From: a@example.com\nX-Huge: " + "y" * 5000), NormaliseOptions(max_header_bytes=1000),
         "headers_too_large"),
        (bytes(range(256)) * 4, NormaliseOptions(), "no_headers"),
    ],
)
def test_unreadable_messages_raise_with_a_reason(raw: bytes, options: NormaliseOptions, reason: str) -> None:
    with pytest.raises(Unreadable) as error:
        normalise(raw, options)
    assert error.value.reason == reason and error.value.detail


def test_options_and_results_cross_process_boundaries() -> None:
    """The pipeline may parse in a process pool: options go in and messages come back by pickle."""
    import pickle

    options = NormaliseOptions(tokens=TrackingTokens(prefix="ACME"))
    message = normalise(_raw("tnef-winmail.eml"), pickle.loads(pickle.dumps(options)))  # noqa: S301 - our own bytes
    assert pickle.loads(pickle.dumps(message)) == message  # noqa: S301
