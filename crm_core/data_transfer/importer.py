"""Rows of a file into records, as the Import Data Wizard does: each row creates a record, or updates the one
its key matches, through the entity's record service, so that every validation, privilege check, audit entry
and duplicate rule of the API applies to it.

- A row runs in a savepoint: a bad row is rolled back alone, rejected with its row number, column and reason,
  and the import goes on. The whole import is one transaction: it commits at the end, or not at all.
- A dry run is the same code path, rolled back at the end: its report is what the real import would do.
- Duplicates (on_duplicate): a row that its key does not match to a record, but whose email address (any of
  the entity's email columns) or account name repeats an earlier row of the file, or an existing record the
  caller can read, is rejected (skip, the default), updates that record (update), or is created anyway
  (create; a lead's own duplicate rule is then ignored too).
- The key (`id` when the file has it, else none, or a chosen field such as email_address1 or account_number)
  finds the record a row updates; when it matches none, the row creates one."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from pydantic import ValidationError
from sqlalchemy import func, or_, select
from sqlalchemy.exc import DataError, IntegrityError

from crm_core.data_transfer.formats import Table
from crm_core.data_transfer.mapping import CellError, CellParser, ColumnMap, build_mapping
from crm_core.data_transfer.profiles import NOT_COLUMNS, EntityProfile, writable_fields
from crm_core.db.savepoints import savepoint
from crm_core.db.unit_of_work import SharedWork, UnitOfWork
from crm_core.email_addresses import normalize
from crm_core.entities import entity
from crm_core.errors import CrmError, ValidationFailed
from crm_core.security import access
from crm_core.security.principal import Principal
from crm_core.security.privileges import Privilege

Progress = Callable[[int, int | None], None]  # rows done, rows in all (None: not known)
# Duplicate rules besides the email columns, as Dynamics publishes them: "accounts with the same account name".
NAME_RULES: dict[str, tuple[str, ...]] = {"account": ("name",)}


class OnDuplicate(StrEnum):
    SKIP = "skip"
    UPDATE = "update"
    CREATE = "create"


@dataclass(frozen=True)
class ImportOptions:
    dry_run: bool = False
    key: str | None = None  # a field; default: id when the file maps an id column
    on_duplicate: OnDuplicate = OnDuplicate.SKIP
    date_format: str | None = None  # strptime format of date cells; default ISO 8601
    max_rows: int | None = None  # refuse larger files (the API's synchronous limit)


@dataclass
class RowOutcome:
    row: int  # as a spreadsheet numbers it: the header is row 1
    action: str  # created, updated, unchanged or rejected
    record_id: uuid.UUID | None = None
    errors: list[tuple[str, str]] = field(default_factory=list)  # (column, reason)
    cells: list[Any] | None = None  # a rejected row's cells, to write it back out

    @property
    def reason(self) -> str:
        return "; ".join(f"{column}: {reason}" if column else reason for column, reason in self.errors)

    def as_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "row": self.row,
            "action": self.action,
            "id": str(self.record_id) if self.record_id else None,
        }
        if self.errors:
            data["column"], data["reason"] = self.errors[0][0], self.reason
            data["errors"] = [{"column": c, "reason": r} for c, r in self.errors]
        return data


@dataclass
class ImportReport:
    entity: str
    dry_run: bool
    headers: list[str]
    mapping: dict[str, str]
    unmapped: list[str]
    key: str | None
    rows: list[RowOutcome] = field(default_factory=list)

    def count(self, action: str) -> int:
        return sum(1 for r in self.rows if r.action == action)

    @property
    def rejected(self) -> list[RowOutcome]:
        return [r for r in self.rows if r.action == "rejected"]

    def as_json(self) -> dict[str, Any]:
        return {
            "entity": self.entity,
            "dry_run": self.dry_run,
            "key": self.key,
            "total": len(self.rows),
            **{a: self.count(a) for a in ("created", "updated", "unchanged", "rejected")},
            "mapping": self.mapping,
            "unmapped_columns": self.unmapped,
            "rows": [r.as_json() for r in self.rows],
        }


class _Rejected(Exception):
    def __init__(self, column: str, reason: str) -> None:
        super().__init__(reason)
        self.column, self.reason = column, reason


class Importer:
    def __init__(
        self, uow: UnitOfWork, principal: Principal, profile: EntityProfile, options: ImportOptions | None = None
    ) -> None:
        self.uow, self.principal, self.profile = uow, principal, profile
        self.options = options or ImportOptions()
        self.spec = entity(profile.entity)
        self.fields = writable_fields(profile)
        # The services' commit only flushes: the import commits (or, dry, rolls back) once, at the end.
        self.service = profile.service(SharedWork(uow), principal)
        self.parser = CellParser(uow.session, principal, self.options.date_format)
        self._seen: dict[tuple[str, Any], tuple[int, uuid.UUID]] = {}  # (field, value) -> (row, record)

    def run(
        self,
        table: Table,
        mapping: dict[str, str] | None = None,
        progress: Progress | None = None,
    ) -> ImportReport:
        # Dynamics asks for create on the entity to import at all; a user without it writes nothing.
        self.principal.require(self.spec.name, Privilege.CREATE)
        self.principal.require(self.spec.name, Privilege.READ)
        columns = build_mapping(table.headers, self.fields, mapping)
        key = self._key(columns)
        report = ImportReport(
            self.spec.name, self.options.dry_run, table.headers, columns.as_json(), columns.unmapped, key
        )
        limit = self.options.max_rows
        for number, cells in table.rows:
            if limit is not None and len(report.rows) >= limit:
                raise ValidationFailed.field(
                    "file",
                    f"more than {limit} rows: split the file, or run `crm import` on the server, which has no limit",
                )
            report.rows.append(self._row(columns, key, number, cells))
            if progress is not None:
                progress(len(report.rows), table.total)
        if self.options.dry_run:
            self.uow.rollback()
        else:
            self.uow.commit()
        return report

    def _key(self, columns: ColumnMap) -> str | None:
        key = self.options.key
        if key is None:
            return "id" if columns.has("id") else None
        if key != "id" and key not in self.fields:
            raise ValidationFailed.field("key", f"{self.spec.name} has no field {key!r}")
        if not columns.has(key):
            raise ValidationFailed.field("key", f"no column of the file maps to the key {key!r}")
        return key

    # --- one row -----------------------------------------------------------------------------------
    def _row(self, columns: ColumnMap, key: str | None, number: int, cells: list[Any]) -> RowOutcome:
        values, errors = self._values(columns, cells)
        if errors:
            return RowOutcome(number, "rejected", errors=errors, cells=cells)
        record_id: uuid.UUID | None = values.pop("id", None)
        try:
            target = self._by_key(columns, key, record_id if key == "id" else values.get(key or ""))
            if target is None:
                target = self._duplicate_of(columns, number, values)
            with savepoint(self.uow.session):
                if target is None:
                    action, saved = self._create(values, columns)
                else:  # the key found the record: it stays as stored (F-1 is not renamed f-1)
                    action, saved = self._update(target, {k: v for k, v in values.items() if k != key}, columns)
        except _Rejected as exc:
            return RowOutcome(number, "rejected", errors=[(exc.column, exc.reason)], cells=cells)
        except CrmError as exc:
            failing = exc.extra.get("errors", [])
            if not failing:
                return RowOutcome(number, "rejected", errors=[("", exc.detail)], cells=cells)
            # The field's message alone: the column says which field (the detail repeats it: "code: ...").
            found = [(columns.column_of(e["field"].split(".")[0].split("[")[0]), e["message"]) for e in failing]
            return RowOutcome(number, "rejected", errors=found, cells=cells)
        except (IntegrityError, DataError) as exc:
            reason = (
                "a value cannot be stored"
                if isinstance(exc, DataError)
                else "conflicts with another record (a unique value taken)"
            )
            return RowOutcome(number, "rejected", errors=[("", reason)], cells=cells)
        self._remember(number, saved, values)
        return RowOutcome(number, action, saved)

    def _values(self, columns: ColumnMap, cells: list[Any]) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        values: dict[str, Any] = {}
        errors: list[tuple[str, str]] = []
        for index, info in columns.fields.items():
            raw = cells[index] if index < len(cells) else None
            try:
                value = self.parser.parse(info, raw)
            except CellError as exc:
                errors.append((columns.headers[index], str(exc)))
                continue
            if value is not None:
                values[info.name] = value
        return values, errors

    def _by_key(self, columns: ColumnMap, key: str | None, value: Any) -> uuid.UUID | None:
        if key is None or value is None:
            return None
        found = self._matching(key, value, limit=2)
        if len(found) > 1:
            raise _Rejected(
                columns.column_of(key),
                f"several {self.spec.name} records have {key} {value!r}; a key must match one record",
            )
        return found[0] if found else None

    def _duplicate_of(self, columns: ColumnMap, number: int, values: dict[str, Any]) -> uuid.UUID | None:
        """The record this row repeats (an earlier row's, or one in the database), when it must not be created."""
        if self.options.on_duplicate is OnDuplicate.CREATE:
            return None
        for name, rule, value in self._rule_values(values):
            earlier = self._seen.get((rule, value))
            if earlier is not None:
                row, record_id = earlier
                what = f"duplicate of row {row} of this file ({name} {value})"
            else:
                existing = self._matching(rule, value, limit=1)
                if not existing:
                    continue
                record_id = existing[0]
                what = f"duplicate of the existing {self.spec.name} {record_id} ({name} {value})"
            if self.options.on_duplicate is OnDuplicate.UPDATE:
                return record_id
            raise _Rejected(columns.column_of(name), what)
        return None

    def _rule_values(self, values: dict[str, Any]) -> Iterator[tuple[str, str, str]]:
        """(field, rule, value) of each duplicate rule the row has a value for: any email column matches any
        other ("email"), as Dynamics' "same e-mail address" rules do; a name rule matches case blind."""
        for name in self.spec.email_columns:
            email = _email(values.get(name))
            if email is not None:
                yield name, "email", email
        for name in NAME_RULES.get(self.spec.name, ()):
            text = values.get(name)
            if isinstance(text, str) and text.strip():
                yield name, name, text.strip().lower()

    def _matching(self, name: str, value: Any, limit: int) -> list[uuid.UUID]:
        """Readable records whose field (or, for "email", any email column) equals the value."""
        model = self.spec.model
        if name == "email" or name in self.spec.email_columns:
            email = _email(value)
            if email is None:
                return []
            columns = self.spec.email_columns if name == "email" else (name,)
            match = or_(*(getattr(model, c) == email for c in columns))
        elif isinstance(value, str):
            match = func.lower(getattr(model, name)) == value.lower()
        else:
            match = getattr(model, name) == value
        readable = access.scope(self.principal, self.spec, Privilege.READ)
        return list(self.uow.session.scalars(select(model.id).where(match, readable).limit(limit)))

    def _remember(self, number: int, record_id: uuid.UUID, values: dict[str, Any]) -> None:
        for _name, rule, value in self._rule_values(values):
            self._seen.setdefault((rule, value), (number, record_id))

    # --- writes through the record service ---------------------------------------------------------
    def _create(self, values: dict[str, Any], columns: ColumnMap) -> tuple[str, uuid.UUID]:
        creatable = self.profile.create.model_fields
        later = {k: values.pop(k) for k in [n for n in values if n not in creatable]}
        body = self._validated(self.profile.create, values, columns)
        for name in ("owner_type", "owner_id"):
            body.pop(name, None)
        if "ignore_duplicates" in creatable:
            body["ignore_duplicates"] = self.options.on_duplicate is OnDuplicate.CREATE
        record_id: uuid.UUID = self.service.create(body).id  # type: ignore[attr-defined]
        if later:  # fields the API sets only on an existing record (a case's first response sent...)
            self.service.update(record_id, self._validated(self.profile.update, later, columns))
        return "created", record_id

    def _update(self, record_id: uuid.UUID, values: dict[str, Any], columns: ColumnMap) -> tuple[str, uuid.UUID]:
        record = self.service.get(record_id, Privilege.WRITE)
        fixed = self.profile.update.model_fields
        for name in [n for n in values if n not in fixed]:  # set on create only (an activity's type...)
            if not _same(name, getattr(record, name, None), values.pop(name), self.spec.email_columns):
                raise _Rejected(columns.column_of(name), "cannot be changed once the record exists")
        body = self._validated(self.profile.update, values, columns)
        changed = {k: v for k, v in body.items() if not _same(k, getattr(record, k, None), v, self.spec.email_columns)}
        if not changed:
            return "unchanged", record_id
        self.service.update(record_id, changed)
        return "updated", record_id

    def _validated(self, schema: Any, values: dict[str, Any], columns: ColumnMap) -> dict[str, Any]:
        """The body as the API would take it: the same lengths, ranges and required fields."""
        try:
            model = schema.model_validate(values)
        except ValidationError as exc:
            problems = []
            for e in exc.errors():
                name = str(e["loc"][0]) if e["loc"] else ""
                reason = "is required" if e["type"] == "missing" else e["msg"]
                problems.append((columns.column_of(name) if name else "", reason))
            column, reason = problems[0]
            raise _Rejected(column, "; ".join(r for _, r in problems) if len(problems) > 1 else reason) from None
        return {
            k: v
            for k, v in model.model_dump(exclude_unset=True).items()
            if k not in NOT_COLUMNS or k == "ignore_duplicates"
        }


def _email(value: Any) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        return normalize(value)
    except ValueError:
        return None  # the service rejects it with its reason


def _same(name: str, current: Any, new: Any, email_columns: tuple[str, ...]) -> bool:
    if name in email_columns:
        return _email(current) == _email(new)
    if isinstance(current, str) and isinstance(new, str):  # the API strips what it is sent
        return current.strip() == new.strip()
    return bool(current == new)
