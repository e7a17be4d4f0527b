"""Auto-numbers as Dynamics shows them: PREFIX-SEQUENCE-SUFFIX, such as QUO-01001-A1B2C3.

The sequence comes from one counter row per prefix (autonumber_counters), bumped with a single
`UPDATE ... RETURNING` inside the caller's transaction. That statement takes the row's write lock
(PostgreSQL) or the database's write lock (SQLite) until the caller commits, so two concurrent
transactions never get the same sequence; a rolled-back transaction gives its number back. The first
number of a prefix inserts the row with ON CONFLICT DO NOTHING, so two first callers cannot collide.
The random suffix makes numbers hard to guess and keeps them apart across databases, as Dynamics' does.

Usage, inside a unit of work: `record.quote_number = next_number(session, "QUO")`."""

import re
import secrets
import string

from sqlalchemy import update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from crm_core.models.autonumber import AutoNumberCounter

FIRST = 1001  # Dynamics starts its sequences at 1000 (the first one handed out is 01001 here)
_PREFIX = re.compile(r"^[A-Z]{2,10}$")


def next_sequence(session: Session, prefix: str) -> int:
    """The next value of the prefix's counter, reserved by the caller's transaction."""
    if not _PREFIX.match(prefix):
        raise ValueError(f"auto-number prefix {prefix!r}: 2 to 10 upper-case letters")
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    session.execute(
        insert(AutoNumberCounter).values(prefix=prefix, last_value=FIRST - 1).on_conflict_do_nothing()
    )
    value = session.execute(
        update(AutoNumberCounter).where(AutoNumberCounter.prefix == prefix)
        .values(last_value=AutoNumberCounter.last_value + 1).returning(AutoNumberCounter.last_value)
    ).scalar_one()
    return int(value)


def random_suffix(length: int = 6) -> str:
    """Letters and digits in turn (A1B2C3), without the look-alikes I, O, 0 and 1."""
    letters = "".join(c for c in string.ascii_uppercase if c not in "IO")
    digits = "23456789"
    return "".join(secrets.choice(letters if i % 2 == 0 else digits) for i in range(length))


def next_number(session: Session, prefix: str, suffix_length: int = 6) -> str:
    """PREFIX-SEQUENCE-SUFFIX: the sequence zero-padded to 5 digits (it grows past 99999)."""
    return f"{prefix}-{next_sequence(session, prefix):05d}-{random_suffix(suffix_length)}"
