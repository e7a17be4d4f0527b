"""Incremental IMAP sync against a real Dovecot, with and without CONDSTORE/QRESYNC."""

import email

from mailbridge.sources.imap import FolderChanges, FolderState, ImapSession, iter_folder_changes, sync_folder
from tests.mailbridge.conftest import Mailbox


def _subjects(changes: FolderChanges) -> list[str]:
    return [str(email.message_from_bytes(m.raw)["Subject"]) for m in changes.new]


def test_first_sync_fetches_every_message_with_flags_and_leaves_them_unread(any_mailbox: Mailbox) -> None:
    first = any_mailbox.deliver(subject="First")
    any_mailbox.deliver(subject="Second", flags=(b"\\Flagged",))
    with ImapSession(any_mailbox.settings()) as session:
        changes = sync_folder(session, "INBOX", None)
    assert _subjects(changes) == ["First", "Second"]
    assert [m.flags for m in changes.new] == [frozenset(), frozenset({"\\Flagged"})]
    assert all(m.internal_date is not None and m.internal_date.utcoffset().total_seconds() == 0 for m in changes.new)
    assert not changes.full_resync and not changes.vanished and not changes.flag_changes
    assert changes.state.uidnext == first + 2
    # BODY.PEEK[]: the user's mail program still shows both unread.
    any_mailbox.client.select_folder("INBOX", readonly=True)
    assert any_mailbox.client.search(["UNSEEN"]) == [first, first + 1]


def test_incremental_sync_reports_new_mail_flag_changes_and_expunges(any_mailbox: Mailbox) -> None:
    uids = [any_mailbox.deliver(subject=f"m{i}") for i in range(4)]
    with ImapSession(any_mailbox.settings()) as session:
        state = sync_folder(session, "INBOX", None).state
        any_mailbox.set_flags("INBOX", [uids[1]], [b"\\Seen", b"\\Answered"])
        any_mailbox.expunge("INBOX", [uids[2]])
        newest = any_mailbox.deliver(subject="new one")
        changes = sync_folder(session, "INBOX", state)
    assert _subjects(changes) == ["new one"]
    assert dict(changes.flag_changes) == {uids[1]: frozenset({"\\Seen", "\\Answered"})}
    assert changes.vanished == (uids[2],)
    assert sorted(changes.state.flags) == [uids[0], uids[1], uids[3], newest]
    assert not changes.full_resync


def test_a_stored_state_survives_a_round_trip_through_json(any_mailbox: Mailbox) -> None:
    uids = [any_mailbox.deliver(subject=f"m{i}") for i in range(3)]
    with ImapSession(any_mailbox.settings()) as session:
        stored = sync_folder(session, "INBOX", None).state.to_dict()
    any_mailbox.set_flags("INBOX", [uids[0]], [b"\\Seen"])
    with ImapSession(any_mailbox.settings()) as session:
        changes = sync_folder(session, "INBOX", FolderState.from_dict(stored))
    assert dict(changes.flag_changes) == {uids[0]: frozenset({"\\Seen"})}
    assert not changes.new


def test_unchanged_folder_costs_one_examine_with_rfc7162(mailbox: Mailbox) -> None:
    for i in range(3):
        mailbox.deliver(subject=f"m{i}")
    with ImapSession(mailbox.settings()) as session:
        assert session.qresync
        state = sync_folder(session, "INBOX", None).state
        session.command_log.clear()
        changes = sync_folder(session, "INBOX", state)
        assert session.command_log == ["EXAMINE"]
    assert changes.unchanged and changes.state == state and changes.strategy == "qresync"


def test_unchanged_folder_without_condstore_fetches_flags_but_no_message(mailbox_nomodseq: Mailbox) -> None:
    for i in range(3):
        mailbox_nomodseq.deliver(subject=f"m{i}")
    with ImapSession(mailbox_nomodseq.settings()) as session:
        assert not session.condstore
        state = sync_folder(session, "INBOX", None).state
        session.command_log.clear()
        changes = sync_folder(session, "INBOX", state)
        assert session.command_log == ["EXAMINE", "UID FETCH"]  # the flag listing only, no body
    assert changes.unchanged and changes.strategy == "full"


def test_uidvalidity_change_resyncs_the_folder_and_says_so(any_mailbox: Mailbox) -> None:
    any_mailbox.client.create_folder("Projects")
    any_mailbox.deliver("Projects", subject="old")
    with ImapSession(any_mailbox.settings()) as session:
        state = sync_folder(session, "Projects", None).state
    any_mailbox.client.delete_folder("Projects")
    any_mailbox.client.create_folder("Projects")
    any_mailbox.deliver("Projects", subject="after recreate")
    any_mailbox.deliver("Projects", subject="another")
    with ImapSession(any_mailbox.settings()) as session:
        changes = sync_folder(session, "Projects", state)
    assert changes.full_resync
    assert changes.state.uidvalidity != state.uidvalidity
    assert _subjects(changes) == ["after recreate", "another"]
    assert changes.vanished == ()  # the old UIDs mean nothing any more: no expunge is claimed for them


def test_batches_carry_checkpoints_and_a_killed_sync_resumes_without_loss_or_duplicates(any_mailbox: Mailbox) -> None:
    for i in range(5):
        any_mailbox.deliver(subject=f"m{i}")
    with ImapSession(any_mailbox.settings()) as session:
        steps = iter_folder_changes(session, "INBOX", None, batch_size=2)
        first = next(steps)  # the process dies after committing the first batch
    assert _subjects(first) == ["m0", "m1"]
    any_mailbox.deliver(subject="m5")
    with ImapSession(any_mailbox.settings()) as session:
        rest = sync_folder(session, "INBOX", first.state, batch_size=2)
        again = sync_folder(session, "INBOX", rest.state)
    assert _subjects(rest) == ["m2", "m3", "m4", "m5"]
    assert again.unchanged


def _scenario(box: Mailbox) -> list[tuple[object, ...]]:
    """The same story on any server; the outcome compared across servers (UIDs start at 1 on both)."""
    outcome: list[tuple[object, ...]] = []

    def record(changes: FolderChanges) -> None:
        outcome.append((tuple(_subjects(changes)), tuple(m.uid for m in changes.new), tuple(sorted(
            (uid, tuple(sorted(f))) for uid, f in changes.flag_changes.items())), changes.vanished,
            changes.full_resync, changes.state.uidnext, tuple(sorted((u, tuple(sorted(f)))
                                                                      for u, f in changes.state.flags.items()))))

    uids = [box.deliver(subject=f"m{i}") for i in range(6)]
    sent = box.deliver("Sent", subject="sent one")
    with ImapSession(box.settings()) as session:
        inbox = sync_folder(session, "INBOX", None)
        sent_folder = session.resolve_folder("\\Sent")
        sent_state = sync_folder(session, sent_folder, None)
        record(inbox)
        record(sent_state)
        box.set_flags("INBOX", uids[:2], [b"\\Seen"])
        box.set_flags("INBOX", [uids[2]], [b"$Forwarded", b"\\Flagged"])
        box.expunge("INBOX", [uids[3], uids[5]])
        box.deliver(subject="late")
        box.set_flags("Sent", [sent], [b"\\Seen"])
        second = sync_folder(session, "INBOX", inbox.state)
        record(second)
        record(sync_folder(session, sent_folder, sent_state.state))
        record(sync_folder(session, "INBOX", second.state))
    return outcome


def test_servers_with_and_without_rfc7162_give_identical_results(
    mailbox: Mailbox, mailbox_condstore: Mailbox, mailbox_nomodseq: Mailbox
) -> None:
    qresync = _scenario(mailbox)
    assert _scenario(mailbox_condstore) == qresync
    assert _scenario(mailbox_nomodseq) == qresync
    assert qresync[2][3] == (4, 6)  # and the story did happen: two expunges seen


def test_unchanged_folder_with_condstore_only_costs_one_examine(mailbox_condstore: Mailbox) -> None:
    uid = mailbox_condstore.deliver(subject="m")
    with ImapSession(mailbox_condstore.settings()) as session:
        assert session.condstore and not session.qresync
        state = sync_folder(session, "INBOX", None).state
        session.command_log.clear()
        assert sync_folder(session, "INBOX", state).unchanged
        assert session.command_log == ["EXAMINE"]
        mailbox_condstore.expunge("INBOX", [uid])
        session.command_log.clear()
        changes = sync_folder(session, "INBOX", state)
        assert session.command_log == ["EXAMINE", "UID FETCH", "UID SEARCH"]
    assert changes.vanished == (uid,) and changes.strategy == "condstore"
