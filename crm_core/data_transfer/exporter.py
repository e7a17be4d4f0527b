"""Records out to a table: the caller's list of an entity (his read scope, the collection's filters), the
columns he chooses, page by page so that a large set is streamed, never held whole.

The default columns are those an import takes back: the id, then every writable field, with lookups under
their name without `_id` holding the linked record's name (`parent_account: Contoso`), as the Import Data
Wizard's templates do; the name is given only when the caller may read the linked record, else its id.
Any field the API renders (created_on, state, owner_id...) may be asked for too, and a lookup by its `_id`
name gives the id."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

from sqlalchemy import select

from crm_core.data_transfer.profiles import EntityProfile, out_columns, writable_fields
from crm_core.db.unit_of_work import UnitOfWork
from crm_core.entities import entity
from crm_core.errors import Forbidden, ValidationFailed
from crm_core.security import access
from crm_core.security.principal import Principal
from crm_core.security.privileges import Privilege
from crm_core.services import listing

PAGE_SIZE = 500


def default_columns(profile: EntityProfile) -> list[str]:
    rendered = set(out_columns(profile))
    return ["id", *(f.alias for f in writable_fields(profile).values() if f.name in rendered)]


def check_columns(profile: EntityProfile, columns: list[str] | None) -> list[str]:
    allowed = set(out_columns(profile)) | {f.alias for f in writable_fields(profile).values()}
    chosen = [c.strip() for c in columns or [] if c.strip()] or default_columns(profile)
    unknown = [c for c in chosen if c not in allowed]
    if unknown:
        raise ValidationFailed.field("columns", f"unknown columns {unknown}; choose among {sorted(allowed)}")
    return chosen


class Exporter:
    def __init__(
        self,
        uow: UnitOfWork,
        principal: Principal,
        profile: EntityProfile,
        columns: list[str] | None = None,
        filters: list[listing.Filter] | None = None,
    ) -> None:
        self.uow, self.principal, self.profile = uow, principal, profile
        self.columns = check_columns(profile, columns)
        self.filters = filters or []
        self.service = profile.service(uow, principal)
        lookups = {f.alias: f for f in writable_fields(profile).values() if f.kind == "lookup"}
        self._names = {c: lookups[c] for c in self.columns if c in lookups}  # columns that show a lookup's name

    def check(self) -> None:
        """Refuses at once (before a byte is streamed) a caller who may not read the entity."""
        self.principal.require(self.profile.entity, Privilege.READ)

    def rows(self) -> Iterator[list[Any]]:
        """Keyset pages of the caller's list; each page's read ends its transaction, so that a slow client
        holds no lock (SQLite's transactions take the write lock) and no snapshot between pages."""
        self.check()
        cursor: str | None = None
        while True:
            query = listing.ListQuery(filters=self.filters, sort="created_on", cursor=cursor, limit=PAGE_SIZE)
            page = self.service.list(query)
            names = self._lookup_names(page.items)
            rendered = [self.profile.render(record) for record in page.items]
            raw = [[getattr(record, f.name) for f in self._names.values()] for record in page.items]
            self.uow.rollback()
            for data, links in zip(rendered, raw, strict=True):
                linked = dict(zip(self._names, links, strict=True))
                yield [names.get(linked[c], linked[c]) if c in linked else _value(data, c) for c in self.columns]
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    def _lookup_names(self, records: list[Any]) -> dict[uuid.UUID, str]:
        """The names of the records the page links to, among those the caller may read."""
        names: dict[uuid.UUID, str] = {}
        by_target: dict[str, set[uuid.UUID]] = {}
        for info in self._names.values():
            assert info.target is not None
            ids = {getattr(r, info.name) for r in records} - {None}
            by_target.setdefault(info.target, set()).update(ids)
        for target, ids in by_target.items():
            if ids:
                names.update(self._names_of(target, ids))
        return names

    def _names_of(self, target: str, ids: set[uuid.UUID]) -> dict[uuid.UUID, str]:
        spec = entity(target)
        try:
            readable = access.scope(self.principal, spec, Privilege.READ)
        except Forbidden:
            return {}
        column = getattr(spec.model, spec.display_column)
        rows = self.uow.session.execute(select(spec.model.id, column).where(spec.model.id.in_(ids), readable))
        return {row_id: name for row_id, name in rows if name}


def _value(rendered: Any, column: str) -> Any:
    return rendered.get(column) if isinstance(rendered, dict) else getattr(rendered, column, None)
