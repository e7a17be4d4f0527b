"""The tracking driver over a memory source (mailbridge.tracking.source_sync): each mail tracked once, a pass
killed in the middle of a batch or between two batches reruns without loss or duplicates, expunges date the
sightings, a UIDVALIDITY change or an unreadable checkpoint reads the folder again without doubling anything,
a missing folder does not stop the others; and an import fills its batches across a store's folders."""

import uuid
from collections.abc import Callable, Iterator, Sequence
from types import TracebackType
from typing import Any, Self

import pytest
from sqlalchemy import select, update

from crm_core.models import FolderCheckpoint, MailSighting
from mailbridge.errors import TemporaryFailure
from mailbridge.sources.base import Capabilities, Cursor, Known, MailSource, Place, SourceBatch, SourceFolder
from mailbridge.sources.memory import SENT, MemorySource, MemoryStore
from mailbridge.tracking import TrackingOptions, import_local, source_sync
from mailbridge.tracking.results import SyncSummary
from mailbridge.tracking.source_sync import sync_source
from tests.mailbridge.tracking_fixtures import emails, local_mailbox, mail, maildir
from tests.org import OrgBuilder, TestUser


class Killed(Exception):
    pass


class Failing:
    """A source that fails with `error()` when asked for batch number `after` + 1 of a pass of `folder` (any
    folder when None); everything else is the inner source's."""

    def __init__(self, inner: MailSource, after: int, error: Callable[[], Exception],
                 folder: str | None = None) -> None:
        self.inner, self.after, self.error, self.folder = inner, after, error, folder
        self.capabilities: Capabilities = inner.capabilities

    def __enter__(self) -> Self:
        self.inner.__enter__()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.inner.__exit__(exc_type, exc, tb)

    def folders(self) -> list[SourceFolder]:
        return self.inner.folders()

    def count(self, folder: str) -> int | None:
        return self.inner.count(folder)

    def mark_tracked(self, places: Sequence[Place]) -> None:
        self.inner.mark_tracked(places)

    def changes(self, folder: str, cursor: Cursor | None, batch_size: int,
                known: Known | None = None) -> Iterator[SourceBatch]:
        for n, batch in enumerate(self.inner.changes(folder, cursor, batch_size, known)):
            if n == self.after and self.folder in (None, folder):
                raise self.error()
            yield batch


def dying(inner: MailSource, after: int) -> Failing:
    """A source whose process dies when asked for batch number `after` + 1 of a pass."""
    return Failing(inner, after, Killed)


@pytest.fixture
def mailbox(client: Any, admin: TestUser, org: OrgBuilder, session_factory: Any) -> tuple[uuid.UUID, TestUser]:
    return local_mailbox(client, admin, org, session_factory, incoming_filter="all")


def fill(store: MemoryStore, rep: TestUser, count: int, folder: str = "INBOX", start: int = 0) -> None:
    for i in range(start, start + count):
        store.append(folder, mail(sender=f"c{i}@customer.example", to=rep.email, subject=f"mail {i}"))


def subjects(client: Any, rep: TestUser) -> list[str]:
    return sorted(e["subject"] for e in emails(client, rep))


def sync(session_factory: Any, box_id: uuid.UUID, source: MailSource, **options: Any) -> SyncSummary:
    progress = options.pop("progress", None)
    return sync_source(session_factory, box_id, source, TrackingOptions(**options), progress)


def test_each_mail_is_tracked_once_and_an_unchanged_rerun_fetches_nothing(client, session_factory, mailbox) -> None:
    box_id, rep = mailbox
    store = MemoryStore(["INBOX"])
    store.create_folder("Sent Items", special_use=SENT)
    fill(store, rep, 3)
    store.append("Sent Items", mail(sender=rep.email, to="jane@customer.example", subject="sent one"))
    events: list[tuple[str, int]] = []

    first = sync(session_factory, box_id, MemorySource(store, ["INBOX", SENT]), batch_size=2,
                 progress=lambda e: events.append((e.folder, e.done)))

    assert (first.folders["INBOX"].tracked, first.folders["Sent Items"].tracked) == (3, 1)
    assert events == [("INBOX", 1), ("INBOX", 2), ("INBOX", 3), ("Sent Items", 1)]
    assert subjects(client, rep) == ["mail 0", "mail 1", "mail 2", "sent one"]
    again = sync(session_factory, box_id, MemorySource(store, ["INBOX", SENT]))
    assert (again.fetched, again.tracked) == (0, 0)
    assert {f.strategy for f in again.folders.values()} == {"memory"}


def test_a_pass_killed_inside_a_batch_reruns_without_loss_or_duplicates(client, session_factory, mailbox) -> None:
    box_id, rep = mailbox
    store = MemoryStore()
    fill(store, rep, 5)

    def kill_after_three(event: Any) -> None:
        if event.done == 3:
            raise Killed  # the process dies in the middle of the second batch, before its commit

    with pytest.raises(Killed):
        sync(session_factory, box_id, MemorySource(store), batch_size=2, progress=kill_after_three)
    assert subjects(client, rep) == ["mail 0", "mail 1"]  # the first batch was committed with its checkpoint

    rerun = sync(session_factory, box_id, MemorySource(store), batch_size=2)

    assert (rerun.fetched, rerun.tracked, rerun.duplicates) == (3, 3, 0)
    assert subjects(client, rep) == [f"mail {i}" for i in range(5)]
    assert sync(session_factory, box_id, MemorySource(store)).fetched == 0


def test_a_pass_killed_between_batches_resumes_from_the_last_checkpoint(client, session_factory, mailbox) -> None:
    box_id, rep = mailbox
    store = MemoryStore()
    fill(store, rep, 5)

    with pytest.raises(Killed):
        sync(session_factory, box_id, dying(MemorySource(store), after=2), batch_size=2)
    assert len(subjects(client, rep)) == 4
    fill(store, rep, 1, start=5)  # mail keeps coming while the process is down

    rerun = sync(session_factory, box_id, MemorySource(store), batch_size=2)

    # Resumed where the committed checkpoint left off: only what no batch had committed is fetched again.
    assert (rerun.fetched, rerun.tracked, rerun.duplicates) == (2, 2, 0)
    assert subjects(client, rep) == [f"mail {i}" for i in range(6)]


def test_expunged_mail_dates_its_sighting_and_keeps_its_activity(client, session_factory, mailbox) -> None:
    box_id, rep = mailbox
    store = MemoryStore()
    fill(store, rep, 2)
    sync(session_factory, box_id, MemorySource(store))
    store.expunge("INBOX", 1)

    summary = sync(session_factory, box_id, MemorySource(store))

    assert (summary.folders["INBOX"].vanished, summary.fetched) == (1, 0)
    assert subjects(client, rep) == ["mail 0", "mail 1"]
    with session_factory() as session:
        dated = {s.uid: s.vanished_on is not None for s in session.scalars(select(MailSighting))}
    assert dated == {1: True, 2: False}


def test_a_uidvalidity_change_reads_the_folder_again_without_duplicates(client, session_factory, mailbox) -> None:
    box_id, rep = mailbox
    store = MemoryStore()
    fill(store, rep, 3)
    sync(session_factory, box_id, MemorySource(store))
    store.change_uidvalidity("INBOX")
    fill(store, rep, 1, start=3)

    summary = sync(session_factory, box_id, MemorySource(store), batch_size=2)

    folder = summary.folders["INBOX"]
    assert folder.full_resync
    assert (folder.fetched, folder.duplicates, folder.tracked, folder.vanished) == (4, 3, 1, 3)
    assert subjects(client, rep) == [f"mail {i}" for i in range(4)]
    assert sync(session_factory, box_id, MemorySource(store)).fetched == 0


def test_an_unreadable_checkpoint_restarts_the_folder_and_asks_the_pipeline_only_about_unseen_mail(
        client, session_factory, mailbox, monkeypatch: pytest.MonkeyPatch) -> None:
    box_id, rep = mailbox
    store = MemoryStore()
    fill(store, rep, 2)
    sync(session_factory, box_id, MemorySource(store))
    with session_factory() as session:
        session.execute(update(FolderCheckpoint).values(state={"v": 999}))
        session.commit()
    fill(store, rep, 1, start=2)
    asked: list[list[str]] = []
    track_items = source_sync.track_items

    def spy(uow: Any, ctx: Any, items: Any, options: Any, **more: Any) -> Any:
        asked.append([f"{i.folder}/{i.uid}" for i in items])
        return track_items(uow, ctx, items, options, **more)

    monkeypatch.setattr(source_sync, "track_items", spy)

    summary = sync(session_factory, box_id, MemorySource(store))

    assert (summary.fetched, summary.folders["INBOX"].already_seen, summary.tracked) == (3, 2, 1)
    assert asked == [["INBOX/3"]]  # once for the batch, with the one place not seen before
    assert subjects(client, rep) == ["mail 0", "mail 1", "mail 2"]
    assert sync(session_factory, box_id, MemorySource(store)).fetched == 0  # the checkpoint is readable again


def test_a_missing_folder_is_reported_and_the_others_still_sync(client, session_factory, mailbox) -> None:
    box_id, rep = mailbox
    store = MemoryStore()
    fill(store, rep, 1)

    summary = sync(session_factory, box_id, MemorySource(store, ["Nowhere", "INBOX"]))

    assert summary.folders["Nowhere"].error == "folder 'Nowhere' does not exist"
    assert summary.folders["INBOX"].tracked == 1


def test_an_import_fills_its_batches_across_the_folders_of_the_store(client, session_factory, mailbox, tmp_path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    box_id, rep = mailbox
    path = maildir(tmp_path / "M", {folder: [mail(sender="c@customer.example", to=rep.email, subject=folder or "top")]
                                    for folder in ("", "Archive", "Sent")})
    asked: list[int] = []
    track_items = source_sync.track_items

    def spy(uow: Any, ctx: Any, items: Any, options: Any, **more: Any) -> Any:
        asked.append(len(items))
        return track_items(uow, ctx, items, options, **more)

    monkeypatch.setattr(source_sync, "track_items", spy)
    events: list[tuple[int, int | None]] = []

    summary = import_local(session_factory, box_id, path, TrackingOptions(batch_size=2),
                           progress=lambda e: events.append((e.done, e.total)))

    assert asked == [2, 1]  # three folders of one mail: two transactions, not three
    assert events == [(1, 3), (2, 3), (3, 3)]
    assert (summary.folders[str(path)].tracked, summary.folders[str(path)].strategy) == (3, "local")
    assert subjects(client, rep) == ["Archive", "Sent", "top"]


def test_a_throttled_folder_keeps_what_it_committed_the_others_sync_and_the_next_pass_resumes_it(
        client, session_factory, mailbox) -> None:
    box_id, rep = mailbox
    store = MemoryStore(["INBOX", "Archive"])
    fill(store, rep, 5)
    fill(store, rep, 2, folder="Archive", start=10)

    def throttled() -> Exception:
        return TemporaryFailure("429 Too Many Requests", reason="throttled", retry_after=7.5)

    summary = sync(session_factory, box_id, Failing(MemorySource(store, ["INBOX", "Archive"]), 1, throttled, "INBOX"),
                   batch_size=2)

    inbox = summary.folders["INBOX"]
    assert (inbox.tracked, inbox.retry_after) == (2, 7.5)
    assert inbox.error is not None and "throttled" in inbox.error
    assert summary.folders["Archive"].tracked == 2
    rerun = sync(session_factory, box_id, MemorySource(store, ["INBOX", "Archive"]), batch_size=2)
    assert (rerun.folders["INBOX"].fetched, rerun.folders["INBOX"].tracked, rerun.folders["Archive"].fetched) == (
        3, 3, 0)
    assert subjects(client, rep) == sorted([f"mail {i}" for i in range(5)] + ["mail 10", "mail 11"])


def test_tracked_mail_is_marked_in_the_mailbox_after_its_batch_commits(client, session_factory, mailbox) -> None:
    box_id, rep = mailbox
    store = MemoryStore()
    fill(store, rep, 2)
    store.append("INBOX", b"\xff\xfe not a mail at all")

    with pytest.raises(Killed):
        sync(session_factory, box_id, dying(MemorySource(store), after=0), batch_size=2)
    assert store.marked == set()  # nothing committed, nothing marked

    summary = sync(session_factory, box_id, MemorySource(store), batch_size=2)

    assert (summary.tracked, summary.folders["INBOX"].quarantined) == (2, 1)
    assert {p.uid for p in store.marked} == {1, 2}  # not the quarantined one
