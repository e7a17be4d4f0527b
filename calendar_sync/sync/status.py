"""The sync status: for each calendar object (by UID), where it is on each side, in which version (href,
etag) and with which content hash when the two sides last agreed. A status book keeps the rows; the engine
changes them only through it, one row per action."""

from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Protocol


@dataclass(frozen=True)
class Side:
    href: str
    etag: str
    hash: str | None = None


@dataclass(frozen=True)
class Status:
    """`crm` and `remote` are where the object was on each side after the last action; `ignored` marks a
    server object that does not concern the CRM (or could not be read), looked at again when its etag moves."""

    uid: str
    crm: Side | None = None
    remote: Side | None = None
    ignored: bool = False

    def with_crm(self, side: Side | None) -> "Status":
        return replace(self, crm=side)

    def with_remote(self, side: Side | None) -> "Status":
        return replace(self, remote=side)


class StatusBook(Protocol):
    def load(self) -> dict[str, Status]:
        """Every status row, by UID."""
        ...

    def save(self, status: Status) -> None:
        ...

    def forget(self, uid: str) -> None:
        ...


class MemoryStatusBook:
    """Status rows in a dict: the engine's tests, and a dry run."""

    def __init__(self) -> None:
        self.rows: dict[str, Status] = {}

    def load(self) -> dict[str, Status]:
        return dict(self.rows)

    def save(self, status: Status) -> None:
        self.rows[status.uid] = status

    def forget(self, uid: str) -> None:
        self.rows.pop(uid, None)

    def __iter__(self) -> Iterator[Status]:
        return iter(self.rows.values())
