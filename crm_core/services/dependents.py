"""What still uses a record: the rows whose foreign keys would make the database refuse its delete.

The database is the last word (a foreign key without ON DELETE refuses the delete), but its refusal names a
constraint, not the quotes or cases a user must deal with first. Before a delete the record service asks
here, from the schema itself, so that every entity gets the same clear 409 without a hand-written list that
would drift from the foreign keys: "this account is still used by quotes (2: QUO-01001-AB12, ...)".

Keys with ON DELETE CASCADE or SET NULL are left out (the database handles them), and so are the child rows
the record's own ORM relationships delete with it."""

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ForeignKey, Table, func, inspect, select
from sqlalchemy.orm import Session

from crm_core.db.base import Base
from crm_core.errors import Conflict

# The column a user recognises a row by, in order of preference.
_LABEL_COLUMNS = ("case_number", "quote_number", "order_number", "invoice_number", "contract_number",
                  "name", "title", "full_name", "subject")
_EXAMPLES = 3


@dataclass(frozen=True)
class Dependent:
    collection: str
    count: int
    examples: list[str]

    def describe(self) -> str:
        shown = ", ".join(self.examples)
        more = ", ..." if self.count > len(self.examples) else ""
        return f"{self.collection} ({self.count}{': ' + shown + more if shown else ''})"


def _restricting_keys(table: Table, owned: set[str]) -> list[ForeignKey]:
    keys = []
    for other in Base.metadata.sorted_tables:
        if other.name in owned:
            continue
        for fk in other.foreign_keys:
            if fk.column.table is table and (fk.ondelete or "").upper() not in ("CASCADE", "SET NULL"):
                keys.append(fk)
    return keys


def _collection(table: Table) -> str:
    from crm_core.entities import all_entities

    for spec in all_entities():
        if getattr(spec.model, "__table__", None) is table:
            return spec.collection
    return table.name.replace("_", " ")


def find(session: Session, record: Any) -> list[Dependent]:
    """Every kind of row that still points at `record` and would block its delete, with a few examples."""
    mapper = inspect(type(record))
    table = mapper.local_table
    # Child rows the ORM deletes with the record (its lines, items...) do not block it.
    owned = {rel.target.name for rel in mapper.relationships if rel.cascade.delete}
    found = []
    for fk in _restricting_keys(table, owned):
        other = fk.parent.table
        where = fk.parent == getattr(record, fk.column.key)
        if other is table:
            where = where & (other.c[fk.column.key] != getattr(record, fk.column.key))
        count = session.scalar(select(func.count()).select_from(other).where(where)) or 0
        if not count:
            continue
        label = next((other.c[c] for c in _LABEL_COLUMNS if c in other.c), None)
        examples = [] if label is None else [
            str(v) for v in session.scalars(select(label).where(where).order_by(label).limit(_EXAMPLES))
        ]
        found.append(Dependent(_collection(other), count, examples))
    return found


def refuse_if_used(session: Session, record: Any, noun: str) -> None:
    """A 409 naming what still uses the record, or nothing."""
    found = find(session, record)
    if found:
        raise Conflict(
            f"this {noun} is still used by " + "; ".join(d.describe() for d in found)
            + ". Delete them or point them elsewhere first",
            used_by=[{"collection": d.collection, "count": d.count, "examples": d.examples} for d in found],
        )
