"""An EWS folder's cursor: the SyncFolderItems sync state the last committed batch ended with, the folder it
belongs to (its reported name and its Exchange id, so that a state is never used on another folder, nor on a
folder deleted and made again under the same name), and a version. JSON-able, read only by this source."""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mailbridge.errors import CursorInvalid
from mailbridge.sources.base import Cursor

VERSION = 1


@dataclass(frozen=True)
class EwsCursor:
    folder: str
    folder_id: str
    sync_state: str

    def to_dict(self) -> Cursor:
        return {"v": VERSION, "source": "ews", "folder": self.folder, "folder_id": self.folder_id,
                "sync_state": self.sync_state}

    @classmethod
    def read(cls, cursor: Any) -> "EwsCursor":
        """CursorInvalid for anything but a cursor this version of the source wrote."""
        if not isinstance(cursor, Mapping):
            raise CursorInvalid(f"an EWS cursor is a mapping, not {type(cursor).__name__}")
        if cursor.get("v") != VERSION or cursor.get("source") != "ews":
            raise CursorInvalid(f"not an EWS cursor of version {VERSION} (version {cursor.get('v')!r})")
        values = [cursor.get(k) for k in ("folder", "folder_id", "sync_state")]
        if not all(isinstance(v, str) and v for v in values):
            raise CursorInvalid("an EWS cursor needs its folder, folder id and sync state")
        return cls(*values)
