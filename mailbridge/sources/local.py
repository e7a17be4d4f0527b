"""Local mail stores for migrations and demo data: a Maildir (with its Maildir++ subfolders) or an mbox
file, read as (stable key, raw bytes) with the total known up front for a progress bar.

Keys are stable across runs so an interrupted import resumes: a Maildir message's key is its folder and
unique name (flags after ":2," stripped); an mbox message's is its position and a hash of its bytes."""

import hashlib
import mailbox
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from mailbridge.errors import MailError


@dataclass(frozen=True)
class LocalItem:
    key: str
    raw: bytes


class MaildirStore:
    def __init__(self, path: Path, *, include_subfolders: bool = True) -> None:
        self.path = path
        self.include_subfolders = include_subfolders

    def _folders(self) -> list[tuple[str, mailbox.Maildir]]:
        root = mailbox.Maildir(self.path, factory=None, create=False)
        folders = [("", root)]
        if self.include_subfolders:
            folders += [(name, root.get_folder(name)) for name in sorted(root.list_folders())]
        return folders

    def count(self) -> int:
        return sum(len(box) for _, box in self._folders())

    def __iter__(self) -> Iterator[LocalItem]:
        for name, box in self._folders():
            for key in sorted(box.keys()):
                try:
                    raw = box.get_bytes(key)
                except (KeyError, FileNotFoundError):
                    continue  # removed while we read: another client moved it
                yield LocalItem(f"maildir:{name}/{key}" if name else f"maildir:{key}", raw)


class MboxStore:
    def __init__(self, path: Path) -> None:
        self.path = path

    def count(self) -> int:
        box = mailbox.mbox(self.path, create=False)
        try:
            return len(box)
        finally:
            box.close()

    def __iter__(self) -> Iterator[LocalItem]:
        box = mailbox.mbox(self.path, create=False)
        try:
            for index, key in enumerate(box.iterkeys()):
                raw = box.get_bytes(key)
                yield LocalItem(f"mbox:{index}:{hashlib.sha256(raw).hexdigest()[:16]}", raw)
        finally:
            box.close()


def open_local(path: str | Path) -> MaildirStore | MboxStore:
    """A Maildir (a folder with cur/ and new/) or an mbox file, else a MailError saying what was found."""
    p = Path(path)
    if p.is_dir():
        if (p / "cur").is_dir() and (p / "new").is_dir():
            return MaildirStore(p)
        raise MailError(f"{p} is a folder but not a Maildir (no cur/ and new/)", reason="not_mail_store")
    if p.is_file():
        with p.open("rb") as f:
            head = f.read(5)
        if head in (b"From ", b""):
            return MboxStore(p)
        raise MailError(f"{p} is not an mbox file (it does not start with 'From ')", reason="not_mail_store")
    raise MailError(f"{p} does not exist", reason="not_mail_store")
