"""The fast MIME split (mailbridge/message/mime_split.py) builds exactly the stdlib's tree, or leaves the message
to the stdlib: compared node by node (headers as the policy keeps them, payloads, preamble, epilogue, defects)
over CPython's corpus of real-world mail, generated ordinary mail, and crafted edge cases. The fast path must
also really take ordinary mail, or it saves nothing."""

import email.policy
from email.message import EmailMessage, Message
from email.parser import BytesParser
from pathlib import Path
from typing import Any

import pytest

from bench.imap_corpus import Generator
from mailbridge.message.mime_policy import parsing_policy
from mailbridge.message.mime_split import parse_bytes, split_message

CORPUS = Path(__file__).parent / "corpus" / "cpython"


def tree(message: Message) -> dict[str, Any]:
    node = {k: v for k, v in vars(message).items() if k not in ("policy", "_payload", "defects")}
    payload = message._payload
    node["payload"] = [tree(p) for p in payload] if isinstance(payload, list) else payload
    node["defects"] = [(type(d), str(d)) for d in message.defects]
    node["type"] = type(message)
    return node


def stdlib(raw: bytes, policy: Any = parsing_policy) -> Message:
    return BytesParser(policy=policy).parsebytes(raw)


def _variants(raw: bytes) -> list[bytes]:
    lf = raw.replace(b"\r\n", b"\n")
    return [lf, lf.replace(b"\n", b"\r\n")]


@pytest.mark.parametrize("path", sorted(CORPUS.glob("*.txt")), ids=lambda p: p.name)
def test_cpythons_corpus_parses_to_the_stdlib_tree(path: Path) -> None:
    for raw in _variants(path.read_bytes()):
        assert tree(parse_bytes(raw, parsing_policy)) == tree(stdlib(raw))
        assert tree(parse_bytes(raw, email.policy.compat32)) == tree(stdlib(raw, email.policy.compat32))


def test_ordinary_mail_takes_the_fast_path_and_parses_to_the_stdlib_tree() -> None:
    generator = Generator(11)
    fast = 0
    for i in range(300):
        raw = generator.message(i)[0]
        for variant in _variants(raw):
            split = split_message(variant.decode("ascii", "surrogateescape"), parsing_policy)
            fast += split is not None
            assert tree(parse_bytes(variant, parsing_policy)) == tree(stdlib(variant))
            if split is not None:
                assert tree(split) == tree(stdlib(variant))
    assert fast == 600


HEAD = "From: a@example.com\nMIME-Version: 1.0\n"


@pytest.mark.parametrize("text", [
    # nested multiparts with preamble and epilogue at both levels, blanks after a delimiter
    HEAD + 'Content-Type: multipart/mixed; boundary="out"\n\npreamble\n\n--out  \nContent-Type: multipart/'
    'alternative; boundary="in"\n\nin-pre\n--in\nContent-Type: text/plain\n\nhello\n\n--in\nContent-Type: text/'
    'html\n\n<p>hi</p>\n--in--\nin-epilogue\n\n--out\nContent-Type: text/plain\n\nlast\n--out--\nepilogue\n',
    # a boundary that is a prefix of another, and delimiter look-alikes inside parts
    HEAD + 'Content-Type: multipart/mixed; boundary="b"\n\n--b\nContent-Type: multipart/mixed; boundary="b-x"\n'
    '\n--b-x\nContent-Type: text/plain\n\n--bb not a delimiter\n x--b\n--b-x--\n--b\nContent-Type: text/plain'
    '\n\nend\n--b--',
    # never closed; never opened; closed at once; two delimiters in a row
    HEAD + 'Content-Type: multipart/mixed; boundary="b"\n\n--b\nContent-Type: text/plain\n\nno end\n',
    HEAD + 'Content-Type: multipart/mixed; boundary="b"\n\njust text\n',
    HEAD + 'Content-Type: multipart/mixed; boundary="b"\n\n--b--\n',
    HEAD + 'Content-Type: multipart/mixed; boundary="b"\n\n--b\n--b\nContent-Type: text/plain\n\nx\n--b--\n',
    # no boundary; a base64 multipart; a digest; message/rfc822; delivery-status
    HEAD + "Content-Type: multipart/mixed\n\n--b\n\nx\n--b--\n",
    HEAD + 'Content-Type: multipart/mixed; boundary="b"\nContent-Transfer-Encoding: base64\n\n--b\n\nx\n--b--\n',
    HEAD + 'Content-Type: multipart/digest; boundary="b"\n\n--b\n\nSubject: inner\n\nx\n--b--\n',
    HEAD + "Content-Type: message/rfc822\n\nSubject: inner\n\nbody\n",
    # a part without headers; headers without a body; a header block with a stray line; a unix From line
    HEAD + 'Content-Type: multipart/mixed; boundary="b"\n\n--b\n\nno headers\n--b--\n',
    HEAD + 'Content-Type: multipart/mixed; boundary="b"\n\n--b\nContent-Type: text/plain\n--b--\n',
    "From: a@example.com\nnot a header\nSubject: x\n\nbody\n",
    "From someone Mon Jan  1 00:00:00 2026\nFrom: a@example.com\n\nbody\n",
    " continued first\nFrom: a@example.com\n\nbody\n",
    ":no name\nFrom: a@example.com\n\nbody\n",
    "From: a@example.com\nSubject: folded\n\tline\n\nbody\n",
    "From: a@example.com\nSubject: no body and no blank line\n",
    "\nbody only\n",
    "",
    # 8-bit bytes and a lone CR
    "From: a@example.com\nSubject: caf\udce9\n\nbody \udcff\n",
    "From: a@example.com\nSubject: x\n\nline\rwith a lone CR\n",
])
def test_edge_cases_parse_to_the_stdlib_tree(text: str) -> None:
    for raw in _variants(text.encode("ascii", "surrogateescape")):
        assert tree(parse_bytes(raw, parsing_policy)) == tree(stdlib(raw))
    assert isinstance(parse_bytes(b"Subject: x\n\ny\n", parsing_policy), EmailMessage)
