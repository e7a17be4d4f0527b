"""What import and export need to know of an entity: its record service (so that every rule, privilege check,
audit and duplicate rule applies), the bodies the API validates, and how the API renders a record.

The API's collection declarations (crm_core.api.resource.Resource) hold all of it; the composition side
(crm_core.api.routes.transfer, the `crm` CLI) builds a profile from them, so this package depends on no
route and every collection can be imported and exported without a list of its own."""

from __future__ import annotations

import re
import types
import typing
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel

from crm_core.services.records import RecordService

# Body fields that are not columns of a row: the owner is the importing user, addresses are a list,
# and ignore_duplicates is the import's own on_duplicate option.
NOT_COLUMNS = frozenset({"owner_type", "owner_id", "addresses", "ignore_duplicates"})
_OPTION = re.compile(r"(?:^|,\s*)(\d+) ([^,(]+)")


@dataclass(frozen=True)
class EntityProfile:
    entity: str
    service: type[RecordService[Any]]
    create: type[BaseModel]
    update: type[BaseModel]
    out: type[BaseModel]
    render: Callable[[Any], Any]
    filters: dict[str, tuple[str, type]] = field(default_factory=dict)  # query alias -> (column, type)


@dataclass(frozen=True)
class FieldInfo:
    """One writable field: its kind decides how a cell is parsed."""

    name: str
    kind: str  # text, int, decimal, date, datetime, bool, uuid, choice, lookup, option
    label: str
    required: bool
    target: str | None = None  # the entity a lookup points at
    options: tuple[tuple[int, str], ...] = ()  # option set values and labels
    choices: tuple[str, ...] = ()  # the values a Literal field takes

    @property
    def alias(self) -> str:
        """The lookup's name without `_id` (parent_account): the column that holds the target's name."""
        return self.name.removesuffix("_id") if self.kind == "lookup" else self.name

    @property
    def names(self) -> tuple[str, ...]:
        """What a column may be called to map here: the name, the label, and without `_id` or `_code`."""
        short = self.name.removesuffix("_code")
        return (self.name, self.label, self.alias, short, short.replace("_", " "))


def writable_fields(profile: EntityProfile) -> dict[str, FieldInfo]:
    """The scalar fields of the create and update bodies, create's first (it says what is required)."""
    fields: dict[str, FieldInfo] = {}
    for schema, creating in ((profile.create, True), (profile.update, False)):
        for name, info in schema.model_fields.items():
            if name in NOT_COLUMNS or name in fields:
                continue
            made = _field(
                profile, name, info.annotation, info.description or "", creating and info.is_required(), info.title
            )
            if made is not None:
                fields[name] = made
    return fields


def out_columns(profile: EntityProfile) -> list[str]:
    """The scalar fields a record is rendered with: what an export may ask for."""
    return [name for name, info in profile.out.model_fields.items() if _scalar(info.annotation) is not None]


def _field(
    profile: EntityProfile, name: str, annotation: Any, description: str, required: bool, title: str | None
) -> FieldInfo | None:
    base = _scalar(annotation)
    if base is None:
        return None
    label = title or name.replace("_", " ").title()
    target = profile.service.links.get(name)
    if target is not None:
        return FieldInfo(name, "lookup", label, required, target=target)
    if typing.get_origin(base) is typing.Literal:
        return FieldInfo(name, "choice", label, required, choices=tuple(str(a) for a in typing.get_args(base)))
    if base is int:
        options = tuple((int(v), text.strip()) for v, text in _OPTION.findall(description))
        return FieldInfo(name, "option" if options else "int", label, required, options=options)
    kinds = {
        str: "text",
        bool: "bool",
        Decimal: "decimal",
        float: "decimal",
        date: "date",
        datetime: "datetime",
        uuid.UUID: "uuid",
    }
    kind = kinds.get(base)
    return FieldInfo(name, kind, label, required) if kind else None


def _scalar(annotation: Any) -> Any:
    """The one scalar type of `X | None`, or None for lists, models and other shapes."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return _scalar(args[0]) if len(args) == 1 else None
    if origin is typing.Annotated:
        return _scalar(typing.get_args(annotation)[0])
    if origin is typing.Literal:
        return annotation
    if annotation in (str, int, bool, Decimal, float, date, datetime, uuid.UUID):
        return annotation
    return None
