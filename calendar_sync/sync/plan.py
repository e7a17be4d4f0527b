"""Planning, pure: the status book's rows and what each side holds now go in, the actions to take come out.

A side is read in two steps so that an unchanged calendar costs one listing and nothing more: its listing
(href -> etag) first; then only the hrefs that are new or whose etag moved are loaded (`to_load`). The plan
then walks every UID once, vdirsyncer's way:

    in the status | CRM side       | server side    | action
    --------------+----------------+----------------+----------------------------------------------------
    no            | new            | -              | upload to the server
    no            | -              | new            | upload to the CRM if it concerns the CRM, else ignore
    no            | new            | new            | same content: record; else a conflict
    yes           | changed        | unchanged      | update the server (an etag that moved over the same
                  | unchanged      | changed        | update the CRM      content is only recorded)
    yes           | changed        | changed        | same content: record; else a conflict
    yes           | present        | gone           | changed since: upload again; else delete in the CRM
    yes           | gone           | present        | delete on the server (the CRM's cancel wins)
    yes           | gone           | gone           | forget

A conflict is decided by the calendar's policy: the CRM wins, the server wins, or the newer wins (by
LAST-MODIFIED, then DTSTAMP; a tie goes to the server, whose copy the attendees see)."""

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from calendar_sync.items import CalendarItem
from calendar_sync.stores.base import Changes
from calendar_sync.sync.actions import (
    Action,
    Delete,
    Forget,
    Ignore,
    Quarantine,
    Record,
    Resolve,
    Update,
    Upload,
)
from calendar_sync.sync.status import Side, Status

CRM, REMOTE = "crm", "remote"
POLICIES = ("crm_wins", "server_wins", "newest_wins")


@dataclass
class Snapshot:
    """One side at the start of the pass: every href's etag, the items that had to be loaded, and the hrefs
    whose object could not be read (href -> (raw, reason, message))."""

    listing: dict[str, str]
    loaded: dict[str, CalendarItem] = field(default_factory=dict)
    broken: dict[str, tuple[str, str, str]] = field(default_factory=dict)


@dataclass(frozen=True)
class Options:
    policy: str = "newest_wins"
    remote_read_only: bool = False
    # Whether a server object the CRM has not seen concerns it (the calendar's incoming filter).
    concerns: Callable[[CalendarItem], bool] = lambda item: True


def listing_now(status: Mapping[str, Status], side: str, changes: Changes) -> dict[str, str]:
    """One side's listing now: the changes as given when complete, else the status's applied with them."""
    if changes.complete:
        return dict(changes.changed)
    listing = {s_side.href: s_side.etag for s in status.values() if (s_side := _side(s, side)) is not None}
    for href in changes.deleted:
        listing.pop(href, None)
    listing.update(changes.changed)
    return listing


def to_load(status: Mapping[str, Status], side: str, listing: Mapping[str, str], *,
            remote_read_only: bool = False) -> list[str]:
    """The hrefs of one side that are new or changed since the status: the only ones worth reading. On the
    CRM side also those the server lacks (a push that never happened), unless the server cannot be written."""
    known = {s_side.href: s_side.etag for s in status.values() if (s_side := _side(s, side)) is not None}
    if side == CRM and not remote_read_only:
        for s in status.values():
            if s.crm is not None and s.remote is None:
                known.pop(s.crm.href, None)
    return [href for href, etag in listing.items() if known.get(href) != etag]


def plan(status: Mapping[str, Status], crm: Snapshot, remote: Snapshot, options: Options) -> list[Action]:
    if options.policy not in POLICIES:
        raise ValueError(f"unknown conflict policy {options.policy!r}")
    actions: list[Action] = []
    crm_now = _by_uid(status, CRM, crm, actions)
    remote_now = _by_uid(status, REMOTE, remote, actions)
    for uid in sorted(set(status) | set(crm_now) | set(remote_now)):
        actions.extend(_one(uid, status.get(uid), crm_now.get(uid), remote_now.get(uid), options))
    return actions


@dataclass(frozen=True)
class _Now:
    """An object as one side holds it now; `item` is set when it was new or its etag moved (so it was loaded)."""

    href: str
    etag: str
    item: CalendarItem | None

    def side(self, item_hash: str | None) -> Side:
        return Side(self.href, self.etag, item_hash)


def _side(status: Status, side: str) -> Side | None:
    return status.crm if side == CRM else status.remote


def _by_uid(status: Mapping[str, Status], side: str, snapshot: Snapshot, actions: list[Action]) -> dict[str, _Now]:
    uid_of = {s_side.href: s.uid for s in status.values() if (s_side := _side(s, side)) is not None}
    out: dict[str, _Now] = {}
    for href, etag in snapshot.listing.items():
        if href in snapshot.broken:
            raw, reason, message = snapshot.broken[href]
            actions.append(Quarantine(side, href, etag, raw, reason, message))
            continue
        item = snapshot.loaded.get(href)
        uid = item.uid if item is not None else uid_of.get(href)
        if uid is None:
            continue  # the loader found it gone between listing and reading: next pass
        out[uid] = _Now(href, etag, item)
    return out


def _one(uid: str, status: Status | None, crm: _Now | None, remote: _Now | None,
         options: Options) -> Iterable[Action]:
    if status is None or (status.crm is None and status.remote is None):
        return _new(uid, crm, remote, options)
    if status.ignored and status.crm is None:
        return _ignored(uid, status, crm, remote, options)
    crm_changed = crm is not None and (status.crm is None or crm.etag != status.crm.etag)
    remote_changed = remote is not None and (status.remote is None or remote.etag != status.remote.etag)
    if crm is not None and remote is not None:
        return _both(uid, status, crm, remote, crm_changed, remote_changed, options)
    if crm is not None:  # gone from the server
        if status.remote is None:  # it never got there (a read-only server, or a push that failed)
            return _new(uid, crm, None, options) if crm_changed or not options.remote_read_only else []
        if crm_changed and _really_changed(crm, status.crm) and not options.remote_read_only:
            return [Upload(REMOTE, uid, crm.item, crm.side(_hash(crm.item)))]  # type: ignore[arg-type]
        return [Delete(CRM, uid, crm.href, crm.etag)]
    if remote is not None:  # gone from the CRM: canceled there
        if options.remote_read_only:
            return [Record(Status(uid, None, status.remote, ignored=True))]
        return [Delete(REMOTE, uid, remote.href, remote.etag)]
    return [Forget(uid)]


def _new(uid: str, crm: _Now | None, remote: _Now | None, options: Options) -> list[Action]:
    if crm is not None and remote is not None:
        return _first_meeting(uid, crm, remote, options)
    if crm is not None:
        assert crm.item is not None  # new to the status, so it was loaded
        if options.remote_read_only:
            return [Record(Status(uid, crm.side(crm.item.hash), None))]
        return [Upload(REMOTE, uid, crm.item, crm.side(crm.item.hash))]
    if remote is not None:
        assert remote.item is not None
        if not options.concerns(remote.item):
            return [Ignore(uid, remote.side(remote.item.hash))]
        return [Upload(CRM, uid, remote.item, remote.side(remote.item.hash))]
    return [Forget(uid)]


def _ignored(uid: str, status: Status, crm: _Now | None, remote: _Now | None, options: Options) -> list[Action]:
    if crm is not None:  # the CRM has it now (meeting mail, the add-in): sync it as any other
        return _new(uid, crm, remote, options)
    if remote is None:
        return [Forget(uid)]
    if status.remote is not None and remote.etag == status.remote.etag:
        return []
    return _new(uid, None, remote, options)  # it changed: does it concern the CRM now?


def _first_meeting(uid: str, crm: _Now, remote: _Now, options: Options) -> list[Action]:
    assert crm.item is not None
    assert remote.item is not None
    crm_side, remote_side = crm.side(crm.item.hash), remote.side(remote.item.hash)
    if crm.item.hash == remote.item.hash:
        return [Record(Status(uid, crm_side, remote_side))]
    return [_resolve(uid, crm, remote, crm_side, remote_side, options)]


def _both(uid: str, status: Status, crm: _Now, remote: _Now, crm_changed: bool, remote_changed: bool,
          options: Options) -> list[Action]:
    if not crm_changed and not remote_changed:
        return []
    crm_real = crm_changed and _really_changed(crm, status.crm)
    remote_real = remote_changed and _really_changed(remote, status.remote)
    crm_side = crm.side(_hash(crm.item) if crm.item is not None else status.crm.hash if status.crm else None)
    remote_side = remote.side(_hash(remote.item) if remote.item is not None else
                              status.remote.hash if status.remote else None)
    if crm_real and remote_real:
        if crm.item is not None and remote.item is not None and crm.item.hash == remote.item.hash:
            return [Record(Status(uid, crm_side, remote_side))]
        return [_resolve(uid, crm, remote, crm_side, remote_side, options)]
    if crm_real and not options.remote_read_only:
        return [Update(REMOTE, uid, remote.href, remote.etag, crm.item, crm_side)]  # type: ignore[arg-type]
    if remote_real:
        return [Update(CRM, uid, crm.href, crm.etag, remote.item, remote_side)]  # type: ignore[arg-type]
    # Only etags moved (a DTSTAMP rewritten, a touched row), or a read-only server: remember the new versions.
    return [Record(Status(uid, crm_side, remote_side))]


def _resolve(uid: str, crm: _Now, remote: _Now, crm_side: Side, remote_side: Side, options: Options) -> Resolve:
    assert crm.item is not None
    assert remote.item is not None
    winner = _winner(crm.item, remote.item, options)
    return Resolve(uid, winner, options.policy, crm.item, remote.item, crm_side, remote_side)


def _winner(crm: CalendarItem, remote: CalendarItem, options: Options) -> str:
    if options.remote_read_only or options.policy == "server_wins":
        return REMOTE
    if options.policy == "crm_wins":
        return CRM
    return CRM if _modified(crm) > _modified(remote) else REMOTE


def _modified(item: CalendarItem) -> datetime:
    """When the object was last changed, by its own word: LAST-MODIFIED, else DTSTAMP, newest event first."""
    stamps = []
    for event in item.events:
        for name in ("LAST-MODIFIED", "DTSTAMP"):
            value = event.get(name)
            if value is not None:
                stamps.append(_aware(value.dt))
                break
    return max(stamps, default=datetime.min.replace(tzinfo=UTC))


def _aware(value: datetime | date) -> datetime:
    if not isinstance(value, datetime):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _hash(item: CalendarItem | None) -> str | None:
    return item.hash if item is not None else None


def _really_changed(now: _Now, before: Side | None) -> bool:
    """An etag moved: did the content? Unknown (not loaded, or no hash kept) counts as changed."""
    if before is None or now.item is None or before.hash is None:
        return True
    return now.item.hash != before.hash
