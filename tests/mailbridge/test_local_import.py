"""Reading Maildir folders and mbox files for imports: every message once, with stable keys and a count."""

import mailbox
from email.message import EmailMessage
from pathlib import Path

import pytest

from mailbridge.errors import MailError
from mailbridge.sources.local import MaildirStore, MboxStore, open_local


def _mail(subject: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "alice@example.com", "rep@example.org", subject
    msg.set_content(f"Body of {subject}\nFrom the start of a line.\n")
    return msg


def test_maildir_with_subfolders_yields_every_message_once_with_stable_keys(tmp_path: Path) -> None:
    box = mailbox.Maildir(tmp_path / "mail", create=True)
    box.add(_mail("inbox one"))
    box.add(_mail("inbox two"))
    box.add_folder("Sent").add(_mail("sent one"))
    store = open_local(tmp_path / "mail")
    assert isinstance(store, MaildirStore)
    assert store.count() == 3
    items = list(store)
    assert sum(b"Subject: inbox one" in i.raw for i in items) == 1
    assert len({i.key for i in items}) == 3
    assert [i.key for i in open_local(tmp_path / "mail")] == [i.key for i in items]
    assert any(i.key.startswith("maildir:Sent/") for i in items)


def test_mbox_yields_messages_without_the_from_line_and_with_stable_keys(tmp_path: Path) -> None:
    path = tmp_path / "export.mbox"
    box = mailbox.mbox(path)
    for subject in ("one", "two", "three"):
        box.add(_mail(subject))
    box.close()
    store = open_local(path)
    assert isinstance(store, MboxStore)
    assert store.count() == 3
    items = list(store)
    assert [i.raw.split(b"Subject: ")[1].split(b"\n")[0] for i in items] == [b"one", b"two", b"three"]
    assert not items[0].raw.startswith(b"From ")
    assert [i.key for i in open_local(path)] == [i.key for i in items]


def test_something_else_is_refused_with_a_reason(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("hello")
    for path in (tmp_path / "missing", tmp_path, tmp_path / "notes.txt"):
        with pytest.raises(MailError) as error:
            open_local(path)
        assert error.value.reason == "not_mail_store"
