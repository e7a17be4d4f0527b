"""Mutations of real mail for the MIME fuzz tests: CPython's email test corpus and our hostile messages
(tests/mailbridge/corpus) as seeds, each mutated the ways mail is broken in the wild."""

import base64
from pathlib import Path

from hypothesis import strategies as st

CORPUS = Path(__file__).resolve().parents[1] / "mailbridge" / "corpus"
SEEDS = sorted(p.read_bytes() for p in CORPUS.rglob("*") if p.suffix in {".txt", ".eml"})

_CHARSETS = [
    b"utf-8",
    b"x-unknown",
    b"utf-7",
    b"iso-2022-jp",
    b"\xff\xfe",
    b"",
    b"utf-16",
    b"windows-1252",
    b"csUnicode",
    b'"',
    b"us-ascii'en'",
]
_WORDS = [
    b"=?utf-8?B?not base64?=",
    b"=?x-bogus?Q?caf=E9?=",
    b"=?utf-8?Q?=ZZ=?=",
    b"=??=",
    b"=?utf-8?B?=?=",
    b"=?iso-8859-1*fr?Q?=E9?=",
    b"=?utf-16?B?" + base64.b64encode("\ud800".encode("utf-16", "surrogatepass")) + b"?=",
    b"=?utf-8?B?" + base64.b64encode(b"\x00\x01\xff") + b"?=",
]
_HEADERS = [
    b"From",
    b"To",
    b"Cc",
    b"Subject",
    b"Date",
    b"Message-ID",
    b"References",
    b"In-Reply-To",
    b"Content-Type",
    b"Content-Transfer-Encoding",
    b"Content-Disposition",
    b"Reply-To",
    b"Sender",
]
_VALUES = [
    b"",
    b"<>",
    b'"unterminated',
    b"a@b@c",
    b'Group: a@b.example, "q l"@c.example;',
    b"(comment) x@y",
    b"multipart/mixed; boundary=",
    b'multipart/alternative; boundary=""',
    b"text/plain; charset=",
    b"base64",
    b"quoted-printable",
    b"x-uuencode",
    b"attachment; filename*=utf-8''%FF%FE",
    b"Tue, 99 Foo 20266 99:99:99 +9999",
    b"<a@b> <c@d",
    b"\xc3\x28\xa0\xa1",
    b"=?utf-8?B?AAAA?= x",
    b"bob@xn--bcher-kva.example",
    b'"\\""@example.com',
    b"a" * 2000,
]


def _header_block_end(raw: bytes) -> int:
    for separator in (b"\r\n\r\n", b"\n\n"):
        end = raw.find(separator)
        if end != -1:
            return end
    return len(raw)


@st.composite
def mutation(draw: st.DrawFn, raw: bytes) -> bytes:
    """One mutation of `raw`."""
    kind = draw(
        st.sampled_from(
            [
                "flip",
                "truncate",
                "duplicate_header",
                "charset",
                "nest",
                "huge_line",
                "bad_base64",
                "bad_qp",
                "rfc2047",
                "header",
                "insert",
                "delete",
            ]
        )
    )
    size = max(len(raw), 1)
    at = draw(st.integers(0, size - 1))
    head = _header_block_end(raw)
    if kind == "flip":
        return raw[:at] + bytes([draw(st.integers(0, 255))]) + raw[at + 1 :]
    if kind == "truncate":
        return raw[:at]
    if kind == "duplicate_header":
        lines = raw[:head].splitlines(keepends=True)
        line = draw(st.sampled_from(lines)) if lines else b"Subject: x\n"
        return raw[:head] + b"\n" + line.rstrip(b"\r\n") + raw[head:]
    if kind == "charset":
        return (
            raw.replace(b"charset=", b"charset=" + draw(st.sampled_from(_CHARSETS)) + b";x=", 1)
            if b"charset=" in raw
            else b"Content-Type: text/plain; charset=" + draw(st.sampled_from(_CHARSETS)) + b"\n" + raw
        )
    if kind == "nest":
        depth = draw(st.integers(1, 60))
        opening = b"".join(b"--b%d\nContent-Type: multipart/mixed; boundary=b%d\n\n" % (i, i + 1) for i in range(depth))
        return (
            b"Content-Type: multipart/mixed; boundary=b0\n"
            + raw[:head]
            + b"\n\n"
            + opening
            + raw[head:]
            + b"".join(b"\n--b%d--\n" % i for i in reversed(range(depth)))
        )
    if kind == "huge_line":
        return raw[:at] + b"x" * draw(st.integers(1000, 200_000)) + raw[at:]
    if kind == "bad_base64":
        junk = draw(st.sampled_from([b"====", b"A", b"!!!!", b"QUJD\x00", b"Q", b"=" * 77, b"\xff\xfe"]))
        return b"Content-Transfer-Encoding: base64\n" + raw[:head] + b"\n\n" + junk + raw[head:]
    if kind == "bad_qp":
        junk = draw(st.sampled_from([b"=", b"=Z", b"=\r", b"=0", b"=\xff", b"=\n=\n="]))
        return b"Content-Transfer-Encoding: quoted-printable\n" + raw[:head] + b"\n\n" + junk * 20 + raw[head:]
    if kind == "rfc2047":
        name = draw(st.sampled_from(_HEADERS))
        return name + b": " + draw(st.sampled_from(_WORDS)) + b" " + draw(st.sampled_from(_WORDS)) + b"\n" + raw
    if kind == "header":
        name = draw(st.sampled_from(_HEADERS))
        value = draw(st.one_of(st.sampled_from(_VALUES), st.binary(max_size=80)))
        return name + b": " + value + b"\n" + raw
    if kind == "insert":
        return raw[:at] + draw(st.binary(min_size=1, max_size=64)) + raw[at:]
    return raw[:at] + raw[at + draw(st.integers(1, 64)) :]


@st.composite
def mutated_mail(draw: st.DrawFn) -> bytes:
    """A corpus message with one to four mutations."""
    raw = draw(st.sampled_from(SEEDS))
    for _ in range(draw(st.integers(1, 4))):
        raw = draw(mutation(raw))
    return raw
