"""The one interface every mail source implements (`MailSource`), and what it hands a tracking driver.

A source offers folders (the configured specs resolved, or why one is missing) and, per folder, the changes
since a cursor, in batches. Each `SourceBatch` says explicitly what changed (new raw messages with their
place, flag changes, vanished places, whether the folder had to be read again from scratch) and carries the
cursor to store with it: a driver that commits a batch together with that cursor, and resumes from the last
one committed, neither loses nor repeats anything. No sync state hides in the source object; the cursor is a
plain JSON-able dict whose format only the source that made it reads. An unreadable cursor, or one made for
another folder, is `CursorInvalid`: the driver starts the folder again from scratch (None).

Backends: `imap.source.ImapSource`, `local.LocalSource` (Maildir, mbox), `memory.MemorySource` (tests, and the
reference every other backend is compared with by tests/mailbridge/test_source_contract.py). Which one serves
a mailbox is decided in one place, `registry.py`."""

import datetime as dt
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Protocol, Self

Cursor = dict[str, Any]  # JSON-able; None (no cursor) means "from scratch"
Flags = frozenset[str]


@dataclass(frozen=True, order=True)
class Place:
    """Where a source holds one message, unique within a mailbox: an IMAP folder, UIDVALIDITY and UID; for a
    keyed source (a local store, Graph, EWS) the item's stable key as the folder ("graph:INBOX:<id>"), with
    UIDVALIDITY and UID 0. Tracking records it as the sighting, which is how a rerun recognises what it already
    did."""

    folder: str
    uidvalidity: int = 0
    uid: int = 0


@dataclass(frozen=True)
class SourceMessage:
    """One new raw message, exactly as the source gave it."""

    place: Place
    raw: bytes = field(repr=False)
    flags: Flags = frozenset()
    internal_date: dt.datetime | None = None


@dataclass(frozen=True)
class SourceBatch:
    """One step of a folder's changes. `cursor` is what to store once this batch is processed; the last batch's
    is the folder's new cursor. `uidvalidity` is the folder's now (0 for a store without one): after a
    `full_resync`, places under any other are gone."""

    folder: str
    new: tuple[SourceMessage, ...]
    flag_changes: Mapping[Place, Flags]
    vanished: tuple[Place, ...]
    cursor: Cursor
    full_resync: bool
    strategy: str
    uidvalidity: int = 0

    @property
    def unchanged(self) -> bool:
        return not (self.new or self.flag_changes or self.vanished or self.full_resync)


@dataclass(frozen=True)
class SourceFolder:
    """A configured folder spec ("INBOX", "\\Sent") and the folder the source resolved it to; `name` None
    when there is none, with the reason in `problem`."""

    spec: str
    name: str | None
    problem: str | None = None


@dataclass(frozen=True)
class Capabilities:
    """What a source can tell about a folder beyond its new messages. A driver needs none of them; a contract
    test states per backend which it lacks, rather than letting a check pass for want of anything to see."""

    flags: bool  # reports flag changes of known messages
    expunges: bool  # reports vanished places: removing one message changes no other message's place
    uidvalidity: bool  # can tell that its places were renumbered (`full_resync`)
    folders: bool  # holds more than one folder


# Which of these places the mailbox already tracked or quarantined. A source whose change feed does not tell a
# new message from a changed one (Graph's delta) asks this, so that a known message's change is reported as a
# flag change and its bytes are not downloaded again; the driver answers from the sightings.
Known = Callable[[Sequence[Place]], Collection[Place]]


class MailSource(Protocol):
    """Used as a context manager: entering opens what the source needs (a connection), leaving closes it."""

    capabilities: Capabilities

    def __enter__(self) -> Self: ...

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None: ...

    def folders(self) -> list[SourceFolder]:
        """The folders to sync: each configured spec with the folder it resolved to (or why it did not)."""
        ...

    def count(self, folder: str) -> int | None:
        """How many messages `folder` holds, when the source can say without reading them (else None)."""
        ...

    def changes(self, folder: str, cursor: Cursor | None, batch_size: int,
                known: Known | None = None) -> Iterator[SourceBatch]:
        """The changes of `folder` since `cursor` (None: everything), in batches of at most `batch_size` new
        messages; at least one batch, the last carrying the folder's new cursor. CursorInvalid (raised before
        the first batch) for a cursor that is unreadable or belongs to another folder. `known` is only asked
        by a source that cannot tell new from changed otherwise (without it, such a source reports every
        changed message as new)."""
        ...

    def mark_tracked(self, places: Sequence[Place]) -> None:
        """Show the mailbox's user which messages the CRM tracked (Exchange: a category, as Dynamics' "Tracked
        to Dynamics 365"). Called after the batch is committed; a source with no such mark does nothing."""
        ...
