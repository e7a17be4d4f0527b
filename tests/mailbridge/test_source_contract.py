"""What every mail source must do (mailbridge.sources.base.MailSource), as one class of tests in the manner of
vdirsyncer's StorageTests, run against each backend: the memory source (the reference), a real Dovecot in its
three configurations (QRESYNC, CONDSTORE only, neither) and local Maildir and mbox stores.

Each backend comes with a `Room`: the same mail written into it the way a user's mail program would. A backend
that cannot do something names it in `unsupported` with the reason; its test class leaves out the tests that
need it (set to None, so nothing is skipped at run time), and the source must declare exactly the same in
its `capabilities`."""

import email
import email.utils
import itertools
import json
import mailbox as stdlib_mailbox
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from mailbridge.errors import CursorInvalid
from mailbridge.sources.base import Cursor, Flags, MailSource, Place, SourceBatch, SourceFolder, SourceMessage
from mailbridge.sources.imap import ImapSource
from mailbridge.sources.local import LocalSource, MaildirStore, MboxStore
from mailbridge.sources.memory import MemorySource, MemoryStore
from tests.mailbridge.conftest import Mailbox as DovecotAccount

_ids = itertools.count()


def message(subject: str) -> bytes:
    return (f"From: Alice <alice@example.com>\r\nTo: rep@example.org\r\nSubject: {subject}\r\n"
            f"Message-ID: <contract-{next(_ids)}-{subject}@example.com>\r\nDate: {email.utils.formatdate()}\r\n"
            f"\r\nAbout {subject}.\r\n").encode()


def subject_of(item: SourceMessage) -> str:
    return str(email.message_from_bytes(item.raw)["Subject"])


# -- the backends ----------------------------------------------------------------------------------------------
class Room:
    """One backend's mail, written as a user's mail program would, and the source reading it."""

    name = "?"
    unsupported: dict[str, str] = {}  # capability -> why this backend lacks it

    def require(self, capability: str) -> None:
        if capability in self.unsupported:
            pytest.fail(f"{self.name} lacks {capability!r} ({self.unsupported[capability]}): its test class must "
                        "leave this test out")

    def source(self, folders: Sequence[str] = ("INBOX",)) -> MailSource:
        raise NotImplementedError

    def append(self, folder: str, subject: str, flags: Iterable[str] = ()) -> None:
        raise NotImplementedError

    def set_flags(self, folder: str, subject: str, flags: Iterable[str]) -> None:
        raise NotImplementedError

    def expunge(self, folder: str, subject: str) -> None:
        raise NotImplementedError

    def create_folder(self, name: str) -> None:
        raise NotImplementedError

    def recreate_folder(self, name: str) -> None:
        """Deleted and made again: a new UIDVALIDITY, the old places meaningless."""
        raise NotImplementedError


class MemoryRoom(Room):
    name = "memory"

    def __init__(self) -> None:
        self.store = MemoryStore()
        self.uids: dict[tuple[str, str], int] = {}

    def source(self, folders: Sequence[str] = ("INBOX",)) -> MailSource:
        return MemorySource(self.store, folders)

    def append(self, folder: str, subject: str, flags: Iterable[str] = ()) -> None:
        self.uids[folder, subject] = self.store.append(folder, message(subject), flags)

    def set_flags(self, folder: str, subject: str, flags: Iterable[str]) -> None:
        self.store.set_flags(folder, self.uids[folder, subject], flags)

    def expunge(self, folder: str, subject: str) -> None:
        self.store.expunge(folder, self.uids.pop((folder, subject)))

    def create_folder(self, name: str) -> None:
        self.store.create_folder(name)

    def recreate_folder(self, name: str) -> None:
        self.store.delete_folder(name)
        self.store.create_folder(name)


class ImapRoom(Room):
    def __init__(self, account: DovecotAccount, kind: str) -> None:
        self.account = account
        self.name = f"imap ({kind})"
        self.uids: dict[tuple[str, str], int] = {}

    def source(self, folders: Sequence[str] = ("INBOX",)) -> MailSource:
        return ImapSource(self.account.settings(folders=tuple(folders), timeout=10))

    def append(self, folder: str, subject: str, flags: Iterable[str] = ()) -> None:
        response = self.account.client.append(folder, message(subject), flags=[f.encode() for f in flags])
        self.uids[folder, subject] = int(response.split(b"]")[0].split()[-1])  # UIDPLUS

    def set_flags(self, folder: str, subject: str, flags: Iterable[str]) -> None:
        self.account.set_flags(folder, [self.uids[folder, subject]], [f.encode() for f in flags])

    def expunge(self, folder: str, subject: str) -> None:
        self.account.expunge(folder, [self.uids.pop((folder, subject))])

    def create_folder(self, name: str) -> None:
        self.account.client.create_folder(name)

    def recreate_folder(self, name: str) -> None:
        self.account.client.delete_folder(name)
        self.account.client.create_folder(name)


class MaildirRoom(Room):
    name = "maildir"
    unsupported = {"flags": "a local store reports no flags",
                   "uidvalidity": "a local store's keys never renumber: no full resync"}

    def __init__(self, path: Path) -> None:
        self.path = path
        self.root = stdlib_mailbox.Maildir(path, create=True)
        self.keys: dict[tuple[str, str], str] = {}

    def _box(self, folder: str) -> stdlib_mailbox.Maildir:
        return self.root if folder == "INBOX" else self.root.get_folder(folder)

    def source(self, folders: Sequence[str] = ("INBOX",)) -> MailSource:
        return LocalSource(MaildirStore(self.path), folders)

    def append(self, folder: str, subject: str, flags: Iterable[str] = ()) -> None:
        self.keys[folder, subject] = self._box(folder).add(message(subject))

    def expunge(self, folder: str, subject: str) -> None:
        self._box(folder).remove(self.keys.pop((folder, subject)))

    def create_folder(self, name: str) -> None:
        self.root.add_folder(name)


class MboxRoom(Room):
    name = "mbox"
    unsupported = {"flags": "a local store reports no flags",
                   "uidvalidity": "a local store's keys never renumber: no full resync",
                   "expunges": "an mbox message's place is its position: removing one renumbers those after it",
                   "folders": "an mbox file is one folder"}

    def __init__(self, path: Path) -> None:
        self.path = path
        stdlib_mailbox.mbox(path, create=True).close()

    def source(self, folders: Sequence[str] = ("INBOX",)) -> MailSource:
        return LocalSource(MboxStore(self.path), folders)

    def append(self, folder: str, subject: str, flags: Iterable[str] = ()) -> None:
        assert folder == "INBOX"
        box = stdlib_mailbox.mbox(self.path)
        box.lock()
        try:
            box.add(message(subject))
            box.flush()
        finally:
            box.unlock()
            box.close()


# -- reading a pass --------------------------------------------------------------------------------------------
@dataclass
class Pass:
    batches: list[SourceBatch]

    @property
    def new(self) -> list[SourceMessage]:
        return [m for b in self.batches for m in b.new]

    @property
    def subjects(self) -> list[str]:
        return sorted(subject_of(m) for m in self.new)

    @property
    def places(self) -> dict[str, Place]:
        return {subject_of(m): m.place for m in self.new}

    @property
    def flag_changes(self) -> dict[Place, Flags]:
        return {p: f for b in self.batches for p, f in b.flag_changes.items()}

    @property
    def vanished(self) -> list[Place]:
        return [p for b in self.batches for p in b.vanished]

    @property
    def cursor(self) -> Cursor:
        return self.batches[-1].cursor

    @property
    def unchanged(self) -> bool:
        return all(b.unchanged for b in self.batches)


def checked(batches: Iterable[SourceBatch], folder: str, batch_size: int) -> Iterator[SourceBatch]:
    """What holds of every batch: its folder, at most `batch_size` new messages, a cursor that is JSON."""
    for batch in batches:
        assert batch.folder == folder
        assert len(batch.new) <= batch_size
        assert json.loads(json.dumps(batch.cursor)) == batch.cursor
        yield batch


def run(room: Room, folder: str = "INBOX", cursor: Cursor | None = None, batch_size: int = 100,
        known: Iterable[Place] = ()) -> Pass:
    """One pass. `known`: the places a driver would have tracked by then (its sightings), for a source that
    asks which messages are known to tell a new one from a changed one."""
    seen = set(known)
    with room.source([folder]) as source:
        batches = list(checked(source.changes(folder, cursor, batch_size, lambda ps: seen.intersection(ps)),
                               folder, batch_size))
    assert batches, "a pass yields at least one batch, the last carrying the folder's cursor"
    places = [m.place for b in batches for m in b.new]
    assert len(set(places)) == len(places)
    return Pass(batches)


def killed(room: Room, after: int, cursor: Cursor | None = None, batch_size: int = 2,
           known: Iterable[Place] = ()) -> Pass:
    """A pass that dies once it has handed over `after` batches (what a driver had committed by then)."""
    seen = set(known)
    with room.source() as source:
        batches = checked(source.changes("INBOX", cursor, batch_size, lambda ps: seen.intersection(ps)), "INBOX",
                          batch_size)
        done = [next(batches) for _ in range(after)]
        batches.close()
    return Pass(done)


# -- the contract ----------------------------------------------------------------------------------------------
NEEDS = {  # capability -> the contract's test that needs it
    "flags": "test_flag_changes_appear_as_such",
    "expunges": "test_expunged_items_vanish",
    "folders": "test_a_cursor_of_one_folder_is_refused_for_another",
    "uidvalidity": "test_a_uidvalidity_change_is_a_full_resync",
}


class SourceContract:
    def test_the_source_declares_what_it_cannot_do(self, room: Room) -> None:
        with room.source() as source:
            declared = {name for name in ("flags", "expunges", "uidvalidity", "folders")
                        if not getattr(source.capabilities, name)}
        assert declared == set(room.unsupported)
        left_out = {name for name in NEEDS.values() if getattr(type(self), name) is None}
        assert left_out == {NEEDS[capability] for capability in room.unsupported}

    def test_configured_folders_resolve_and_a_missing_one_says_why(self, room: Room) -> None:
        with room.source(["INBOX", "Nowhere"]) as source:
            inbox, nowhere = source.folders()
        assert inbox == SourceFolder("INBOX", "INBOX")
        assert (nowhere.spec, nowhere.name) == ("Nowhere", None) and nowhere.problem

    def test_the_first_listing_returns_every_item_once_at_stable_places(self, room: Room) -> None:
        for subject in ("a", "b", "c"):
            room.append("INBOX", subject)
        first = run(room)
        assert first.subjects == ["a", "b", "c"]
        assert not (first.flag_changes or first.vanished or any(b.full_resync for b in first.batches))
        assert run(room).places == first.places  # read from scratch again: the same places, so reruns find them
        with room.source() as source:
            assert source.count("INBOX") in (None, 3)

    def test_an_empty_folder_yields_one_empty_batch_with_a_cursor(self, room: Room) -> None:
        empty = run(room)
        assert len(empty.batches) == 1 and empty.unchanged
        room.append("INBOX", "first")
        assert run(room, cursor=empty.cursor).subjects == ["first"]

    def test_an_unchanged_rerun_from_the_cursor_yields_nothing(self, room: Room) -> None:
        room.append("INBOX", "a")
        room.append("INBOX", "b")
        first = run(room)
        again = run(room, cursor=first.cursor)
        assert again.unchanged
        assert run(room, cursor=again.cursor).unchanged

    def test_new_items_appear_as_new(self, room: Room) -> None:
        room.append("INBOX", "old")
        first = run(room)
        room.append("INBOX", "new 1")
        room.append("INBOX", "new 2")
        second = run(room, cursor=first.cursor)
        assert second.subjects == ["new 1", "new 2"]
        assert not (second.flag_changes or second.vanished or any(b.full_resync for b in second.batches))

    def test_flag_changes_appear_as_such(self, room: Room) -> None:
        room.require("flags")
        room.append("INBOX", "flagged", ["\\Flagged"])
        room.append("INBOX", "plain")
        first = run(room)
        assert {subject_of(m): m.flags for m in first.new} == {"flagged": {"\\Flagged"}, "plain": frozenset()}
        # Read and flagged: what every source with flags can say (Exchange has no \\Answered).
        room.set_flags("INBOX", "plain", ["\\Seen", "\\Flagged"])
        second = run(room, cursor=first.cursor, known=first.places.values())
        assert second.flag_changes == {first.places["plain"]: {"\\Seen", "\\Flagged"}}
        assert not (second.new or second.vanished)
        assert run(room, cursor=second.cursor, known=first.places.values()).unchanged

    def test_expunged_items_vanish(self, room: Room) -> None:
        room.require("expunges")
        for subject in ("a", "b", "c"):
            room.append("INBOX", subject)
        first = run(room)
        room.expunge("INBOX", "b")
        second = run(room, cursor=first.cursor)
        assert second.vanished == [first.places["b"]]
        assert not (second.new or second.flag_changes)
        assert run(room, cursor=second.cursor).unchanged

    def test_a_cursor_of_one_folder_is_refused_for_another(self, room: Room) -> None:
        room.require("folders")
        room.create_folder("Archive")
        room.append("INBOX", "a")
        inbox = run(room)
        with room.source(["INBOX", "Archive"]) as source, pytest.raises(CursorInvalid):
            list(source.changes("Archive", inbox.cursor, 100))

    @pytest.mark.parametrize("spoil", ["empty", "version", "every value", "not a mapping"])
    def test_an_unreadable_cursor_is_cursor_invalid(self, room: Room, spoil: str) -> None:
        room.append("INBOX", "a")
        cursor = run(room).cursor
        bad: Any = {"empty": {}, "version": {**cursor, "v": 999}, "every value": dict.fromkeys(cursor, "?"),
                    "not a mapping": ["INBOX"]}[spoil]
        with room.source() as source, pytest.raises(CursorInvalid):
            list(source.changes("INBOX", bad, 100))

    def test_batches_keep_their_size_and_a_killed_pass_resumes_without_loss_or_repeats(self, room: Room) -> None:
        subjects = [f"m{i}" for i in range(5)]
        for subject in subjects:
            room.append("INBOX", subject)
        whole = run(room, batch_size=2)
        assert [len(b.new) for b in whole.batches if b.new] == [2, 2, 1]
        for after in range(1, len(whole.batches)):
            done = killed(room, after)
            rest = run(room, cursor=done.cursor, batch_size=2)
            assert sorted(done.subjects + rest.subjects) == subjects, f"killed after batch {after}"
            assert run(room, cursor=rest.cursor).unchanged
        done = killed(room, 1)
        room.append("INBOX", "m5")  # mail keeps coming while the process is down
        rest = run(room, cursor=done.cursor, batch_size=2)
        assert rest.subjects == ["m2", "m3", "m4", "m5"]

    def test_a_killed_incremental_pass_reports_each_change_once(self, room: Room) -> None:
        for subject in ("a", "b", "c"):
            room.append("INBOX", subject)
        first = run(room)
        expected_vanished, expected_flags = [], {}
        if "expunges" not in room.unsupported:
            room.expunge("INBOX", "b")
            expected_vanished = [first.places["b"]]
        if "flags" not in room.unsupported:
            room.set_flags("INBOX", "c", ["\\Seen"])
            expected_flags = {first.places["c"]: frozenset({"\\Seen"})}
        for subject in ("d", "e", "f"):
            room.append("INBOX", subject)
        done = killed(room, 1, first.cursor, known=first.places.values())
        rest = run(room, cursor=done.cursor, batch_size=2, known=[*first.places.values(), *done.places.values()])
        assert sorted(done.subjects + rest.subjects) == ["d", "e", "f"]
        assert done.vanished + rest.vanished == expected_vanished
        assert {**done.flag_changes, **rest.flag_changes} == expected_flags
        assert len(done.flag_changes) + len(rest.flag_changes) == len(expected_flags)
        assert run(room, cursor=rest.cursor).unchanged

    def test_a_uidvalidity_change_is_a_full_resync(self, room: Room) -> None:
        room.require("uidvalidity")
        room.create_folder("Projects")
        room.append("Projects", "before")
        first = run(room, "Projects")
        room.recreate_folder("Projects")
        room.append("Projects", "after 1")
        room.append("Projects", "after 2")
        second = run(room, "Projects", first.cursor)
        assert second.batches[0].full_resync and not any(b.full_resync for b in second.batches[1:])
        assert second.subjects == ["after 1", "after 2"]
        assert second.vanished == []  # the old places mean nothing now: no expunge is claimed for them
        old = first.places["before"].uidvalidity
        assert {p.uidvalidity for p in second.places.values()} == {second.batches[0].uidvalidity} != {old}
        assert run(room, "Projects", second.cursor).unchanged


class TestMemorySource(SourceContract):
    @pytest.fixture
    def room(self) -> Room:
        return MemoryRoom()


class TestImapSource(SourceContract):
    @pytest.fixture(params=["qresync", "condstore", "full"])
    def room(self, request: pytest.FixtureRequest) -> Iterator[Room]:
        server = request.getfixturevalue({"qresync": "dovecot", "condstore": "dovecot_condstore",
                                          "full": "dovecot_nomodseq"}[request.param])
        account = DovecotAccount(server, *server.add_user())
        try:
            yield ImapRoom(account, request.param)
        finally:
            account.close()


class TestMaildirSource(SourceContract):
    # Left out (pytest collects no None): what MaildirRoom.unsupported says a Maildir lacks.
    test_flag_changes_appear_as_such = None
    test_a_uidvalidity_change_is_a_full_resync = None

    @pytest.fixture
    def room(self, tmp_path: Path) -> Room:
        return MaildirRoom(tmp_path / "Maildir")


class TestMboxSource(SourceContract):
    # Left out: what MboxRoom.unsupported says an mbox lacks.
    test_flag_changes_appear_as_such = None
    test_a_uidvalidity_change_is_a_full_resync = None
    test_expunged_items_vanish = None
    test_a_cursor_of_one_folder_is_refused_for_another = None

    @pytest.fixture
    def room(self, tmp_path: Path) -> Room:
        return MboxRoom(tmp_path / "archive.mbox")
