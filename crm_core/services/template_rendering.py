"""The placeholder language of email templates: `{{entity.field}}` and `{{entity.field|default}}`.

A tiny parser of our own rather than Jinja: a template may only name a field, never call, loop or reach
attributes, so there is nothing to sandbox. What a value may do depends on where it lands:
- the HTML body: every value (and default) is HTML-escaped, so a value never becomes markup;
- the subject: line breaks and other control characters in a value become spaces, so a value cannot add a
  mail header (the subject template itself may not hold any either);
- the text body: the value as it is.

`check` (at save time) names the first placeholder that the entity does not have; `render` fills them from a
mapping of prefix -> record (a missing record or an empty value gives the default, else nothing)."""

import html
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import inspect

from crm_core.errors import ValidationFailed

# Any {{...}}; then what a well-formed one holds. A malformed one is refused rather than left as text.
_ANY = re.compile(r"\{\{(.*?)\}\}", re.DOTALL)
_PLACEHOLDER = re.compile(r"^\s*([a-z][a-z0-9_]*)\.([a-z][a-z0-9_]*)\s*(?:\|(.*?))?\s*$", re.DOTALL)
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u0085\u2028\u2029]+")
# Columns no template may show, whatever the entity: secrets and machine state.
_HIDDEN_WORDS = ("secret", "password", "token_hash", "search_vector")


@dataclass(frozen=True)
class Placeholder:
    prefix: str  # "contact", "user"...
    field: str
    default: str


def placeholders(text: str | None, field: str) -> list[Placeholder]:
    """Every placeholder in `text`, in order; a malformed `{{...}}` is a ValidationFailed naming `field`."""
    found = []
    for match in _ANY.finditer(text or ""):
        parsed = _PLACEHOLDER.match(match.group(1))
        if parsed is None:
            raise ValidationFailed.field(
                field,
                f"{match.group(0)!r} is not a placeholder: write {{{{entity.field}}}} or {{{{entity.field|default}}}}",
            )
        found.append(Placeholder(parsed.group(1), parsed.group(2), (parsed.group(3) or "").strip()))
    return found


def shown_columns(model: type) -> frozenset[str]:
    """The columns of `model` a template may name."""
    redacted: frozenset[str] = getattr(model, "__audit_redacted__", frozenset())
    return frozenset(
        a.key
        for a in inspect(model).column_attrs
        if a.key not in redacted and not any(word in a.key for word in _HIDDEN_WORDS)
    )


def check(text: str | None, field: str, models: Mapping[str, type]) -> None:
    """Refuses (422 naming `field`) a placeholder whose prefix is not among `models` or whose field is not a
    column of that model."""
    for p in placeholders(text, field):
        model = models.get(p.prefix)
        if model is None:
            allowed = ", ".join(sorted(models)) or "none"
            raise ValidationFailed.field(
                field, f"{{{{{p.prefix}.{p.field}}}}}: this template cannot use {p.prefix!r} (it may use: {allowed})"
            )
        if p.field not in shown_columns(model):
            raise ValidationFailed.field(field, f"{{{{{p.prefix}.{p.field}}}}}: {p.prefix} has no field {p.field!r}")


def as_text(value: Any) -> str:
    """How a value reads in a mail: dates as ISO dates, yes/no for booleans, numbers as they are."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value.normalize(), "f") if value == value.to_integral() else str(value)
    return str(value)


def _substitute(text: str | None, records: Mapping[str, Any], escape: Callable[[str], str]) -> str:
    def one(match: re.Match[str]) -> str:
        parsed = _PLACEHOLDER.match(match.group(1))
        if parsed is None:  # checked at save time; a template saved before a rule changed shows nothing
            return ""
        record = records.get(parsed.group(1))
        value = as_text(getattr(record, parsed.group(2), None)) if record is not None else ""
        if not value.strip():
            value = (parsed.group(3) or "").strip()
        return escape(value)

    return _ANY.sub(one, text or "")


def _subject_value(value: str) -> str:
    return _CONTROL.sub(" ", value).strip()


@dataclass(frozen=True)
class Rendered:
    subject: str
    body_text: str | None
    body_html: str | None


def render(subject: str, body_text: str | None, body_html: str | None, records: Mapping[str, Any]) -> Rendered:
    """The template filled from `records` (prefix -> record or None)."""
    rendered_subject = _CONTROL.sub(" ", _substitute(subject, records, _subject_value)).strip()
    return Rendered(
        subject=rendered_subject,
        body_text=None if body_text is None else _substitute(body_text, records, lambda v: v),
        body_html=None if body_html is None else _substitute(body_html, records, lambda v: html.escape(v, True)),
    )
