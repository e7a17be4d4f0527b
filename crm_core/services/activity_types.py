"""Activity types: the built-in ones (rows seeded from the catalogue, never changed) and those an admin
defines, with their own fields, which activities of that type carry in `custom_fields`."""

import re
import uuid
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any, ClassVar

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from crm_core.activity_catalogue import BUILTIN, CUSTOM_FIELD_TYPES
from crm_core.db.savepoints import savepoint
from crm_core.errors import Conflict, ValidationFailed
from crm_core.models import Activity, ActivityType
from crm_core.security.privileges import Privilege
from crm_core.services import listing
from crm_core.services.records import OwnerRef, RecordService

_SLUG = re.compile(r"^[a-z][a-z0-9_]{1,49}$")
_FIELD_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
# Built-in types get the same id in every database, so that links to them survive a reinstall.
_BUILTIN_NS = uuid.UUID("5f0c6a52-8a43-4c55-9a37-2f3c1e0d7b11")
RESERVED_CODES = frozenset({*BUILTIN, "custom", "activity"})


def builtin_type_id(code: str) -> uuid.UUID:
    return uuid.uuid5(_BUILTIN_NS, code)


def seed_builtin_types(session: Session) -> bool:
    """Adds the built-in types missing from the table (idempotent); True if it added any. The caller commits."""
    have = set(session.scalars(select(ActivityType.code).where(ActivityType.code.in_(list(BUILTIN)))))
    missing = [kind for code, kind in BUILTIN.items() if code not in have]
    for kind in missing:
        session.add(ActivityType(id=builtin_type_id(kind.code), code=kind.code, display_name=kind.display_name,
                                 is_custom=False, fields=[]))
    if missing:
        session.flush()
    return bool(missing)


def custom_type(session: Session, code: str) -> ActivityType | None:
    return session.execute(
        select(ActivityType).where(ActivityType.code == code, ActivityType.is_custom.is_(True))
    ).scalar_one_or_none()


def check_definition(fields: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A custom type's field list, checked: [{name, type, required}] with unique slug names."""
    seen: set[str] = set()
    out = []
    for i, f in enumerate(fields):
        name, kind, required = f.get("name"), f.get("type"), f.get("required", False)
        if not isinstance(name, str) or not _FIELD_NAME.match(name):
            raise ValidationFailed.field(f"fields[{i}].name", "a lower-case name of letters, digits and _")
        if name in seen:
            raise ValidationFailed.field(f"fields[{i}].name", f"{name!r} is listed twice")
        if kind not in CUSTOM_FIELD_TYPES:
            raise ValidationFailed.field(f"fields[{i}].type", f"one of {', '.join(CUSTOM_FIELD_TYPES)}")
        if not isinstance(required, bool):
            raise ValidationFailed.field(f"fields[{i}].required", "true or false")
        seen.add(name)
        out.append({"name": name, "type": kind, "required": required})
    return out


def _coerce(field: str, kind: str, value: Any) -> Any:
    """A custom field's value as stored in JSON: decimals and dates as canonical strings."""
    def wrong() -> ValidationFailed:
        return ValidationFailed.field(field, f"expected a {kind}, got {value!r}")

    if kind == "string":
        if not isinstance(value, str):
            raise wrong()
        return value
    if kind == "integer":
        if isinstance(value, bool) or not isinstance(value, int):
            raise wrong()
        return value
    if kind == "boolean":
        if not isinstance(value, bool):
            raise wrong()
        return value
    if kind == "decimal":
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise wrong()
        try:
            number = Decimal(str(value))
        except InvalidOperation:
            raise wrong() from None
        if not number.is_finite():
            raise wrong()
        return str(number)
    if not isinstance(value, str):  # date
        raise wrong()
    try:
        return date.fromisoformat(value).isoformat()
    except ValueError:
        raise wrong() from None


def validate_custom_fields(definition: ActivityType, current: dict[str, Any], given: dict[str, Any] | None,
                           creating: bool) -> dict[str, Any]:
    """The custom_fields to store. Given values replace current ones and null removes one; unknown names,
    wrong types and missing required fields are refused. Required fields are checked on create and
    whenever custom_fields is written, so that adding a required field to a type in use does not lock
    every existing activity of that type out of unrelated changes."""
    fields = {f["name"]: f for f in definition.fields}
    result = {} if creating else {k: v for k, v in current.items() if k in fields}
    for name, value in (given or {}).items():
        if name not in fields:
            known = ", ".join(fields) or "none"
            raise ValidationFailed.field(f"custom_fields.{name}",
                                         f"{definition.code} has no field {name!r} (its fields: {known})")
        if value is None:
            result.pop(name, None)
        else:
            result[name] = _coerce(f"custom_fields.{name}", fields[name]["type"], value)
    if creating or given is not None:
        for name, f in fields.items():
            if f["required"] and result.get(name) is None:
                raise ValidationFailed.field(f"custom_fields.{name}", f"required by {definition.code}")
    return result


class ActivityTypeService(RecordService[ActivityType]):
    """Organisation-wide: anyone with read lists them, only roles with the activity_type privileges
    (System Administrator) create, change or delete them."""

    entity_name = "activity_type"
    sortable: ClassVar[set[str]] = {"created_on", "modified_on", "code"}

    def _ensure_builtins(self) -> None:
        # Until the organisation set-up seeds them, the first reader does, in a savepoint so that a
        # concurrent first reader that wins the race does not fail this request.
        try:
            with savepoint(self.session):
                added = seed_builtin_types(self.session)
        except IntegrityError:
            return
        if added:
            self.uow.commit()

    def list(self, query: listing.ListQuery) -> listing.Page[ActivityType]:
        self.principal.require(self.entity_name, Privilege.READ)
        self._ensure_builtins()
        return super().list(query)

    def get(self, record_id: uuid.UUID, privilege: Privilege = Privilege.READ) -> ActivityType:
        self.principal.require(self.entity_name, Privilege.READ)
        self._ensure_builtins()
        return super().get(record_id, privilege)

    def create(self, values: dict[str, Any], owner: OwnerRef | None = None) -> ActivityType:
        self.principal.require(self.entity_name, Privilege.CREATE)
        code = values.get("code", "")
        if code in RESERVED_CODES:
            raise ValidationFailed.field("code", f"{code!r} is a built-in activity type")
        if not _SLUG.match(code):
            raise ValidationFailed.field("code", "2 to 50 lower-case letters, digits and _, starting with a letter")
        if self.session.scalar(select(ActivityType.id).where(ActivityType.code == code)) is not None:
            raise Conflict(f"an activity type with code {code!r} exists already")
        record = ActivityType(id=uuid.uuid4(), code=code, is_custom=True, fields=[])
        self.apply(record, {k: v for k, v in values.items() if k != "code"}, creating=True)
        self.session.add(record)
        self.session.flush()
        self.uow.commit()
        return record

    def validate(self, record: ActivityType, values: dict[str, Any], creating: bool) -> None:
        if not (record.display_name or "").strip():
            raise ValidationFailed.field("display_name", "an activity type needs a display name")
        if "fields" in values:
            record.fields = check_definition(values["fields"] or [])

    def ensure_editable(self, record: ActivityType) -> None:
        if not record.is_custom:
            raise Conflict(f"{record.code} is a built-in activity type and cannot be changed")

    def before_delete(self, record: ActivityType) -> None:
        self.ensure_editable(record)
        used = self.session.scalar(
            select(func.count()).select_from(Activity).where(Activity.activity_type == record.code)
        )
        if used:
            raise Conflict(f"{used} activities are of type {record.code}; delete them before the type")
