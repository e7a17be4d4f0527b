"""The IMAP source as a `MailSource`: one `ImapSession` for the source's life, the configured folder specs
resolved on it, and each folder's changes from `iter_folder_changes`, its `FolderChanges` steps handed on
as `SourceBatch`es. The cursor is `FolderState.to_dict()`, the very form checkpoints have always been
stored in, so a stored checkpoint keeps working. The session is kept for the next pass when this one ends
cleanly (pool.py), and taken from there when a kept one still answers."""

from collections.abc import Iterator, Mapping, Sequence
from types import TracebackType
from typing import Self

from mailbridge.errors import CursorInvalid, FolderMissing
from mailbridge.sources.base import Capabilities, Cursor, Known, Place, SourceBatch, SourceFolder, SourceMessage
from mailbridge.sources.imap.pool import POOL
from mailbridge.sources.imap.session import ImapSession
from mailbridge.sources.imap.settings import ImapSettings
from mailbridge.sources.imap.state import FolderState
from mailbridge.sources.imap.sync import FolderChanges, iter_folder_changes


def read_cursor(cursor: Cursor) -> FolderState:
    """A stored cursor as the IMAP sync's state; CursorInvalid when it is none."""
    if not isinstance(cursor, Mapping):
        raise CursorInvalid(f"an IMAP cursor is a mapping, not {type(cursor).__name__}")
    return FolderState.from_dict(cursor)


def as_batch(step: FolderChanges) -> SourceBatch:
    folder, uidvalidity = step.folder, step.state.uidvalidity
    return SourceBatch(
        folder=folder,
        new=tuple(SourceMessage(Place(folder, uidvalidity, m.uid), m.raw, m.flags, m.internal_date)
                  for m in step.new),
        flag_changes={Place(folder, uidvalidity, uid): flags for uid, flags in step.flag_changes.items()},
        vanished=tuple(Place(folder, uidvalidity, uid) for uid in step.vanished),
        cursor=step.state.to_dict(),
        full_resync=step.full_resync,
        strategy=step.strategy,
        uidvalidity=uidvalidity,
    )


class ImapSource:
    capabilities = Capabilities(flags=True, expunges=True, uidvalidity=True, folders=True)

    def __init__(self, settings: ImapSettings) -> None:
        self.settings = settings
        self.session = ImapSession(settings)
        self._broken = False  # the session must not be kept for another pass

    def __enter__(self) -> Self:
        kept = POOL.take(self.settings)
        if kept is not None and kept.ping():
            self.session = kept
        else:
            if kept is not None:
                kept.close()
            self.session = ImapSession(self.settings)
            self.session.open()
        self.session.keep_selected, self._broken = True, False
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if exc_type is None and self.session.is_open and not self._broken:
            POOL.give(self.settings, self.session)
        else:
            self.session.close()

    def folders(self) -> list[SourceFolder]:
        out: list[SourceFolder] = []
        listing = None  # one LIST for every spec; none when INBOX is all (it always exists: RFC 3501)
        for spec in self.settings.folders:
            try:
                if spec.upper() == "INBOX":
                    out.append(SourceFolder(spec, "INBOX"))
                    continue
                listing = self.session.list_folders() if listing is None else listing
                out.append(SourceFolder(spec, self.session.resolve_folder(spec, listing)))
            except FolderMissing as exc:
                out.append(SourceFolder(spec, None, exc.detail))
        return out

    def count(self, folder: str) -> int | None:
        return None  # a folder's size is known only once it is examined: the changes are asked for then

    def mark_tracked(self, places: Sequence[Place]) -> None:
        """IMAP has no category a mail program shows for this (Dynamics marks none either): nothing is set."""

    def changes(self, folder: str, cursor: Cursor | None, batch_size: int,
                known: Known | None = None) -> Iterator[SourceBatch]:
        state = None if cursor is None else read_cursor(cursor)
        try:
            for step in iter_folder_changes(self.session, folder, state, batch_size):
                yield as_batch(step)
        except BaseException:
            # Stopped half-way (an error, or the caller gave up): the connection may hold the rest of an answer.
            self._broken = True
            raise
