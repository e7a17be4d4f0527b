"""The IMAP source keeps its logged-in session between passes (mailbridge/sources/imap/pool.py): the next pass
reuses it, an unchanged INBOX is confirmed by a NOOP, and whatever changed meanwhile is still reported in full;
a dead kept session is replaced without the pass noticing. A stored cursor that changed a little is patched,
not decoded (state.py), to the same cursor a full encoding gives. A pass with nothing new leaves the folder's
checkpoint as it was."""

import random
import socket
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from crm_core.models import FolderCheckpoint
from mailbridge.sources.base import SourceBatch
from mailbridge.sources.imap import FolderState, ImapSource
from mailbridge.sources.imap.pool import POOL, SessionPool
from mailbridge.sources.imap.settings import ImapSettings
from tests.mailbridge.conftest import Mailbox as DovecotAccount
from tests.mailbridge.tracking_fixtures import append, crm_mailbox, mail, sync
from tests.org import OrgBuilder, TestUser


@pytest.fixture(autouse=True)
def _empty_pool() -> Iterator[None]:
    POOL.clear()
    yield
    POOL.clear()


def _pass(settings: ImapSettings, cursor: dict | None) -> tuple[list[SourceBatch], ImapSource]:
    with ImapSource(settings) as source:
        (folder,) = source.folders()
        assert folder.name is not None
        batches = list(source.changes(folder.name, cursor, 100))
    return batches, source


def test_the_next_pass_reuses_the_session_and_an_unchanged_inbox_costs_a_noop(mailbox: DovecotAccount) -> None:
    mailbox.deliver(subject="one")
    settings = mailbox.settings(folders=("INBOX",))
    first, source = _pass(settings, None)
    kept = source.session
    kept.command_log.clear()
    second, source = _pass(settings, first[-1].cursor)
    assert source.session is kept  # no new connection, no login
    assert kept.command_log == ["NOOP", "NOOP"]  # the kept session answers; nothing changed in the INBOX
    assert [(b.new, b.flag_changes, b.vanished, b.full_resync) for b in second] == [((), {}, (), False)]
    assert second[-1].cursor == first[-1].cursor


def test_changes_made_meanwhile_are_reported_in_full_through_a_kept_session(
        any_mailbox: DovecotAccount, request: pytest.FixtureRequest) -> None:
    uids = [any_mailbox.deliver(subject=f"m{i}") for i in range(4)]
    settings = any_mailbox.settings(folders=("INBOX",))
    cursor, source = _pass(settings, None)
    cursor = _pass(settings, cursor[-1].cursor)[0][-1].cursor  # unchanged, the session kept
    any_mailbox.set_flags("INBOX", [uids[1]], [b"\\Flagged"])
    any_mailbox.expunge("INBOX", [uids[2]])
    newest = any_mailbox.deliver(subject="new")
    source.session.command_log.clear()
    batches, _ = _pass(settings, cursor)
    if request.node.callspec.params["any_mailbox"] == "qresync":
        # The NOOP's news are the changes: the folder is not examined again.
        assert source.session.command_log == ["NOOP", "NOOP", "UID FETCH", "UID FETCH"]
    else:  # expunges told by sequence number, or no modseq: examined
        assert "EXAMINE" in source.session.command_log
    assert [m.place.uid for b in batches for m in b.new] == [newest]
    assert {p.uid: f for p, f in batches[0].flag_changes.items()} == {uids[1]: frozenset({"\\Flagged"})}
    assert [p.uid for p in batches[0].vanished] == [uids[2]]
    state = FolderState.from_dict(batches[-1].cursor)
    assert dict(state.flags) == {
        uids[0]: frozenset(),
        uids[1]: frozenset({"\\Flagged"}),
        uids[3]: frozenset(),
        newest: frozenset(),
    }
    again, _ = _pass(settings, batches[-1].cursor)
    assert [(b.new, b.flag_changes, b.vanished) for b in again] == [((), {}, ())]


def test_news_a_kept_session_cannot_account_for_send_it_to_examine(mailbox: DovecotAccount) -> None:
    """Flags only (no EXISTS), then a message delivered and expunged between two passes: the first is taken from
    the news; the second's count adds up too, and the message that came and went is never reported."""
    uids = [mailbox.deliver(subject=f"m{i}") for i in range(3)]
    settings = mailbox.settings(folders=("INBOX",))
    batches, source = _pass(settings, None)
    mailbox.set_flags("INBOX", [uids[0]], [b"\\Seen"])
    source.session.command_log.clear()
    batches, _ = _pass(settings, batches[-1].cursor)
    assert source.session.command_log == ["NOOP", "NOOP"]  # flags only: no new UIDs to ask
    assert {p.uid: f for p, f in batches[0].flag_changes.items()} == {uids[0]: frozenset({"\\Seen"})}
    passing = mailbox.deliver(subject="here and gone")
    mailbox.expunge("INBOX", [passing])
    staying = mailbox.deliver(subject="stays")
    batches, _ = _pass(settings, batches[-1].cursor)
    assert [m.place.uid for b in batches for m in b.new] == [staying]
    assert [(b.flag_changes, b.vanished) for b in batches] == [({}, ())]
    state = FolderState.from_dict(batches[-1].cursor)
    assert sorted(state.flags) == [*uids, staying] and state.uidnext == staying + 1
    # The cursor is the one a fresh session, examining the folder, ends with.
    POOL.clear()
    again, _ = _pass(settings, batches[-1].cursor)
    assert [(b.new, b.flag_changes, b.vanished) for b in again] == [((), {}, ())]
    assert FolderState.from_dict(again[-1].cursor).highestmodseq == state.highestmodseq


def test_a_dead_kept_session_is_replaced_and_a_new_password_never_gets_the_old_session(mailbox: DovecotAccount) -> None:
    mailbox.deliver(subject="one")
    settings = mailbox.settings(folders=("INBOX",))
    cursor = _pass(settings, None)[0][-1].cursor
    kept = POOL.take(settings)
    assert kept is not None
    kept.client._imap.sock.shutdown(socket.SHUT_RDWR)  # the connection dies while kept
    POOL.give(settings, kept)
    batches, source = _pass(settings, cursor)
    assert source.session is not kept and batches[-1].cursor == cursor
    other = mailbox.settings(folders=("INBOX",), password="not-the-password")
    assert POOL.take(other) is None


def test_an_expired_session_is_logged_out_not_reused(mailbox: DovecotAccount) -> None:
    settings = mailbox.settings(folders=("INBOX",))
    _, source = _pass(settings, None)
    pool = SessionPool(keep_seconds=0.0)
    POOL.take(settings)
    pool.give(settings, source.session)
    assert pool.take(settings) is None and not source.session.is_open


def test_a_patched_cursor_is_the_cursor_a_full_encoding_gives() -> None:
    rng = random.Random(4)
    names = ("\\Seen", "\\Flagged", "\\Answered", "$Forwarded")
    flags = {uid: frozenset(n for n in names[:3] if rng.random() < 0.4) for uid in range(1, 3000) if rng.random() < 0.9}
    stored = FolderState("INBOX", 7, 3000, 40, flags).to_dict()
    for _ in range(30):
        state = FolderState.from_dict(stored)
        changes = {
            uid: None if rng.random() < 0.3 else frozenset(n for n in names if rng.random() < 0.5)
            for uid in rng.sample(range(1, 3100), 25)
        }
        assert all((uid in state.flags, state.flags.get(uid)) == (uid in flags, flags.get(uid)) for uid in changes)
        expected = {**flags, **{uid: f for uid, f in changes.items() if f is not None}}
        for uid in (uid for uid, f in changes.items() if f is None):
            expected.pop(uid, None)
        patched = FolderState("INBOX", 7, 3100, 41, state.flags.patched(changes))
        assert not state.flags.decoded
        assert patched.to_dict() == FolderState("INBOX", 7, 3100, 41, expected).to_dict()


def test_a_pass_with_nothing_new_leaves_the_checkpoint_as_it_was(
    client, admin: TestUser, org: OrgBuilder, session_factory, mailbox: DovecotAccount
) -> None:
    box = crm_mailbox(client, admin, org, session_factory, mailbox, incoming_filter="all", folders=["INBOX"])
    append(mailbox, mail(sender="a@customer.example", to=box.address, subject="one"))
    assert sync(session_factory, box).tracked == 1

    def checkpoint() -> tuple[dict, object]:
        with session_factory() as session:
            row = session.scalars(select(FolderCheckpoint).where(FolderCheckpoint.mailbox_id == box.id)).one()
            return row.state, row.synced_on

    before = checkpoint()
    assert (sync(session_factory, box).fetched, sync(session_factory, box).fetched) == (0, 0)
    assert checkpoint() == before  # the cursor did not move: nothing written
    append(mailbox, mail(sender="b@customer.example", to=box.address, subject="two"))
    assert sync(session_factory, box).tracked == 1
    after = checkpoint()
    assert after[0] != before[0] and after[1] > before[1]


def test_a_pass_that_stops_half_way_does_not_keep_its_session(mailbox: DovecotAccount) -> None:
    for i in range(3):
        mailbox.deliver(subject=f"m{i}")
    settings = mailbox.settings(folders=("INBOX",))
    source = ImapSource(settings)

    def failing_pass() -> None:
        with source:
            for _ in source.changes("INBOX", None, 1):
                raise RuntimeError("the database went away")

    with pytest.raises(RuntimeError):
        failing_pass()
    assert POOL.take(settings) is None and not source.session.is_open
    with ImapSource(settings) as source:
        batches = source.changes("INBOX", None, 1)
        next(batches)
        batches.close()  # the caller gave up after the first batch: the rest of the answer may be unread
    assert POOL.take(settings) is None and not source.session.is_open
