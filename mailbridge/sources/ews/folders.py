"""Which Exchange folder a configured spec means. "INBOX" is the distinguished inbox (reported as "INBOX", as
every source names it); "\\Sent" is the distinguished Sent Items, reported by its display name; anything else
is a path of display names below the top of the mailbox (msgfolderroot), "Projects/2024", matched exactly and
else regardless of case, as Exchange keeps sibling names unique regardless of case. A reported name resolves
back to the same folder, so a driver may ask for a folder's changes by the name `folders()` gave."""

from dataclasses import dataclass

from exchangelib import Account
from exchangelib.properties import FolderId
from exchangelib.util import TNS

from mailbridge.errors import FolderMissing
from mailbridge.sources.ews.operations import FindFolders, GetFolders, distinguished
from mailbridge.sources.ews.properties import DISPLAY_NAME, TOTAL_COUNT, folder_of
from mailbridge.sources.ews.settings import INBOX, SENT

PAGE = 200  # child folders per FindFolder page


@dataclass(frozen=True)
class FolderRef:
    name: str  # the name the source reports and places carry
    id: str
    change_key: str | None

    @property
    def folder_id(self) -> FolderId:
        return FolderId(id=self.id, changekey=self.change_key)


def _children(account: Account, parent: FolderId) -> list[tuple[str, str | None, str]]:
    found: list[tuple[str, str | None, str]] = []
    offset = 0
    while True:
        root = FindFolders(account=account).page(parent, (DISPLAY_NAME,), offset, PAGE)
        folders = root.find(f"{{{TNS}}}Folders")
        page = [folder_of(f) for f in folders] if folders is not None else []
        found.extend((folder_id, change_key, name or "") for folder_id, change_key, name, _ in page)
        if root.get("IncludesLastItemInRange", "true").lower() == "true" or not page:
            return found
        offset = int(root.get("IndexedPagingOffset") or offset + len(page))


def resolve(account: Account, spec: str) -> FolderRef:
    """The folder `spec` (or a name reported earlier) means; FolderMissing when there is none."""
    address = account.primary_smtp_address
    if spec in (INBOX, SENT):
        element = GetFolders(account=account).get(distinguished("inbox" if spec == INBOX else "sentitems", address),
                                                   (DISPLAY_NAME,))
        folder_id, change_key, display_name, _ = folder_of(element)
        return FolderRef(INBOX if spec == INBOX else display_name or "Sent Items", folder_id, change_key)
    parent: FolderId = distinguished("msgfolderroot", address)
    current: tuple[str, str | None, str] | None = None
    for part in spec.strip("/").split("/"):
        children = _children(account, parent)
        current = next((c for c in children if c[2] == part), None) or \
            next((c for c in children if c[2].casefold() == part.casefold()), None)
        if current is None:
            raise FolderMissing(f"folder {spec!r} does not exist")
        parent = FolderId(id=current[0], changekey=current[1])
    if current is None:
        raise FolderMissing(f"folder {spec!r} does not exist")
    return FolderRef(spec, current[0], current[1])


def total_count(account: Account, folder: FolderRef) -> int | None:
    return folder_of(GetFolders(account=account).get(folder.folder_id, (TOTAL_COUNT,)))[3]
