"""A mailbox's configured folder specs as Graph mail folders. "INBOX" and "Sent" (or "\\Sent") are the
well-known inbox and sentitems, whatever the user's language calls them; any other spec is a display name
under the mailbox's top folder, "Parent/Child" for a subfolder, compared without regard to case. The name a
folder is synced under (its checkpoint's, its places') is "INBOX", "Sent" or the spec as configured; its id is
what the cursor keeps, so a renamed folder goes on syncing and a deleted and recreated one starts afresh."""

from dataclasses import dataclass
from urllib.parse import quote

from mailbridge.errors import FolderMissing
from mailbridge.sources.graph.client import GraphClient

WELL_KNOWN = {"inbox": ("INBOX", "inbox"), "sent": ("Sent", "sentitems"), "\\sent": ("Sent", "sentitems"),
              "sentitems": ("Sent", "sentitems"), "sent items": ("Sent", "sentitems"),
              "archive": ("Archive", "archive"), "drafts": ("Drafts", "drafts"),
              "deleteditems": ("Deleted Items", "deleteditems"), "deleted items": ("Deleted Items", "deleteditems")}
_PAGE = 100


@dataclass(frozen=True)
class GraphFolder:
    name: str  # what the sync calls it
    id: str
    total: int | None = None


def user_path(user: str) -> str:
    return f"/users/{quote(user, safe='@.')}"


def resolve(client: GraphClient, user: str, spec: str) -> GraphFolder:
    """The folder a spec means; FolderMissing (saying what exists) when there is none."""
    base = f"{user_path(user)}/mailFolders"
    known = WELL_KNOWN.get(spec.strip().lower())
    if known is not None:
        name, well_known = known
        found = client.get_json(f"{base}/{well_known}", f"find the folder {spec!r}",
                                params={"$select": "id,displayName,totalItemCount"})
        return GraphFolder(name, str(found["id"]), found.get("totalItemCount"))
    parent_url = base
    found = {}
    for depth, part in enumerate(p.strip() for p in spec.split("/")):
        children = _list(client, parent_url, spec)
        match = next((c for c in children if str(c.get("displayName", "")).lower() == part.lower()), None)
        if match is None:
            where = "at the top of the mailbox" if depth == 0 else f"under {'/'.join(spec.split('/')[:depth])!r}"
            names = ", ".join(sorted(str(c.get("displayName")) for c in children)) or "none"
            raise FolderMissing(f"no folder {part!r} {where} (folders there: {names})")
        found = match
        parent_url = f"{base}/{match['id']}/childFolders"
    return GraphFolder(spec, str(found["id"]), found.get("totalItemCount"))


def total(client: GraphClient, user: str, folder_id: str) -> int | None:
    found = client.get_json(f"{user_path(user)}/mailFolders/{folder_id}", "count the folder's messages",
                            params={"$select": "totalItemCount"})
    value = found.get("totalItemCount")
    return int(value) if isinstance(value, int) else None


def _list(client: GraphClient, url: str, spec: str) -> list[dict]:
    out: list[dict] = []
    next_url: str | None = url
    params: dict[str, str] | None = {"$top": str(_PAGE), "$select": "id,displayName,totalItemCount"}
    while next_url:
        page = client.get_json(next_url, f"list the folders for {spec!r}", params=params)
        out.extend(v for v in page.get("value", []) if isinstance(v, dict))
        next_url, params = page.get("@odata.nextLink"), None  # the next link carries its own query
    return out
