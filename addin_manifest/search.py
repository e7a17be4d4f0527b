"""The task pane's record picker: records to set a mail's "regarding" to, found by the start of their name, an
email address, or a case or quote number, across the kinds a mail is usually about, within what the caller may
read. Each kind is one indexed prefix query, so typing in the picker stays fast on a large organisation."""

import uuid
from dataclasses import dataclass

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from crm_core.entities import entity
from crm_core.errors import CrmError, ValidationFailed
from crm_core.security import access
from crm_core.security.principal import Principal
from crm_core.security.privileges import Privilege

# What a mail is regarding, most often first, and the columns each is found by (besides its display name).
KINDS: dict[str, tuple[str, ...]] = {
    "contact": ("full_name", "email_address1"),
    "account": ("name", "email_address1"),
    "lead": ("full_name", "subject", "email_address1"),
    "opportunity": ("name",),
    "case": ("title", "case_number"),
}
MIN_LENGTH, MAX_RESULTS = 2, 25


@dataclass(frozen=True)
class Found:
    type: str
    id: uuid.UUID
    name: str
    detail: str | None  # an email address or a number, to tell two alike apart


def search_records(session: Session, principal: Principal, text: str, kinds: list[str] | None = None,
                   limit: int = 10) -> list[Found]:
    term = " ".join(text.split())
    if len(term) < MIN_LENGTH:
        raise ValidationFailed.field("q", f"at least {MIN_LENGTH} characters")
    unknown = set(kinds or ()) - set(KINDS)
    if unknown:
        raise ValidationFailed.field("types", f"one of {', '.join(KINDS)}; not {', '.join(sorted(unknown))}")
    limit = max(1, min(limit, MAX_RESULTS))
    prefix = term.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    out: list[Found] = []
    for kind in kinds or list(KINDS):
        spec = entity(kind)
        try:
            readable = access.scope(principal, spec, Privilege.READ)
        except CrmError:  # no read privilege on this kind at all
            continue
        columns = [getattr(spec.model, c) for c in KINDS[kind]]
        name = getattr(spec.model, spec.display_column if kind != "lead" else "full_name")
        detail = columns[-1] if len(columns) > 1 else None
        matches = or_(*(func.lower(c).like(prefix, escape="\\") for c in columns))
        # Sorted by `name || ''`, the same order, so that PostgreSQL finds the matches by the lower() indexes
        # and sorts them, rather than walking the name index in order past every record before the prefix.
        rows = session.execute(select(spec.model.id, name, detail if detail is not None else name)
                               .where(matches, readable).order_by(name.concat(""), spec.model.id).limit(limit))
        out += [Found(kind, r[0], r[1] or "", r[2] if detail is not None else None) for r in rows]
    return out[:limit]
