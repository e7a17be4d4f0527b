"""FETCH answers are read by a fast path for the shapes our sync asks for, and by imapclient's parser for
anything else (mailbridge/sources/imap/fetch_parsing.py): both must give the same messages, and the fast path
must really take Dovecot's answers, or it saves nothing."""

import datetime as dt
import imaplib

import pytest

from mailbridge.errors import ProtocolError
from mailbridge.sources.imap.fetch_parsing import Fetched, _fast, _general, parse_fetch
from tests.mailbridge.conftest import Mailbox as DovecotAccount


def _answers(account: DovecotAccount, items: str) -> list:
    imap = imaplib.IMAP4(account.server.host, account.server.port)
    try:
        imap.login(account.username, account.password)
        imap._simple_command("ENABLE", "QRESYNC")
        imap.select("INBOX", readonly=True)
        typ, data = imap.uid("FETCH", "1:*", items)
        assert typ == "OK"
        return data
    finally:
        imap.logout()


@pytest.mark.parametrize("items", ["(UID FLAGS INTERNALDATE BODY.PEEK[])", "(UID FLAGS MODSEQ)",
                                   "(FLAGS UID INTERNALDATE MODSEQ BODY.PEEK[])"])
def test_dovecots_answers_take_the_fast_path_and_read_as_imapclient_reads_them(
        mailbox: DovecotAccount, items: str) -> None:
    mailbox.deliver(subject="plain")
    mailbox.deliver(subject="flagged", flags=(b"\\Flagged", b"\\Seen", b"$Forwarded"))
    mailbox.deliver(subject="8-bit", body="Grüße {braces} (parens) \"quotes\" \\ backslash\r\n)\r\n")
    data = _answers(mailbox, items)
    fast = _fast(data)
    assert fast is not None, data[:2]
    assert fast == _general(data)
    assert [m.flags for m in fast][1] == frozenset({"\\Flagged", "\\Seen", "$Forwarded"})
    if "BODY" in items:
        assert all(m.raw and m.raw.startswith(b"From: Alice") for m in fast)
        assert all(m.internal_date is not None and m.internal_date.tzinfo == dt.UTC for m in fast)
    else:
        assert all(m.modseq for m in fast)


@pytest.mark.parametrize("data", [
    [(b'3 (UID 9 FLAGS (\\Seen) INTERNALDATE " 7-Jul-2026 02:44:25 -0730" BODY[] {5}', b"Hello"), b")"],
    [b"3 (UID 9 MODSEQ (12) FLAGS (\\Seen \\Recent))", b"4 (FLAGS (\\Seen) UID 10 MODSEQ (13))"],
    [b"5 (FLAGS (\\Deleted))"],  # no UID: left out by both
    [b"6 (UID 11 FLAGS ())"],
])
def test_answers_of_the_shapes_the_sync_asks_for_read_the_same_both_ways(data: list) -> None:
    fast = _fast(data)
    assert fast is not None and fast == _general(data) == parse_fetch(data)


@pytest.mark.parametrize("data", [
    [(b'3 (UID 9 FLAGS (\\Seen) INTERNALDATE "07-Jul-2026 02:44:25 +0000" BODY[] {9}', b"Hello"), b")"],
    [(b'3 (UID 9 RFC822.SIZE 5 BODY[] {5}', b"Hello"), b")"],
    [(b'3 (UID 9 FLAGS (\\Seen) INTERNALDATE "31-Feb-2026 02:44:25 +0000" BODY[] {5}', b"Hello"), b")"],
    [b'3 (UID 9 FLAGS (\\Seen) X-GM-LABELS ("a b"))'],
])
def test_anything_else_goes_to_imapclient_whole(data: list) -> None:
    assert _fast(data) is None
    try:
        general = _general(data)
    except ProtocolError:
        with pytest.raises(ProtocolError):
            parse_fetch(data)
        return
    assert parse_fetch(data) == general


def test_the_fast_path_reads_a_flag_list_a_user_could_not_tell_apart() -> None:
    (message,) = _fast([b"1 (UID 4 FLAGS (\\Answered $Label1 \\Recent) MODSEQ (7))"]) or []
    assert message == Fetched(4, frozenset({"\\Answered", "$Label1"}), None, None, 7)
