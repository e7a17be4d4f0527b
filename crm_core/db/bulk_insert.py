"""Many rows into one table, on SQLite with the parameters prepared column by column.

SQLAlchemy prepares an executemany's parameters row by row: it builds each row's parameter mapping, fills in the
columns' Python-side defaults and runs each value's bind processor, at some 14 us a row. A mail sync writes nine
rows a message, and that preparation was a tenth of its main process. Here the statement is compiled once per
table and set of columns, each column's bind processor and default are looked up once, and the rows reach the
driver's executemany as tuples. The values stored are the same: the same processors and the same defaults.

PostgreSQL keeps SQLAlchemy's path, whose "insertmanyvalues" batching (many rows per INSERT) is worth more there.
So do statements whose binds are not plain column values. Session hooks on `do_orm_execute` (the audit outbox) do
not see these inserts: audit_log rows must go through `Session.execute`."""

from collections.abc import Callable, Mapping, Sequence
from functools import lru_cache
from operator import itemgetter
from typing import Any

from sqlalchemy import Column, Table
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session
from sqlalchemy.sql.dml import Insert

Row = Mapping[str, Any]
Value = Callable[[Row], Any]
Pairs = tuple[tuple[str, str], ...]  # (column key, the key of its value in each row)


def insert_rows(session: Session, statement: Insert, pairs: Pairs, rows: Sequence[Row]) -> None:
    """INSERT `rows` with `statement` (an INSERT into one table, no values of its own); `pairs` names each
    column given and the key of its value in every row. Columns not given take their defaults."""
    if not rows:
        return
    connection = session.connection()
    plan = _plan(connection.dialect, statement, pairs) if connection.dialect.name == "sqlite" else None
    if plan is None:
        session.execute(statement, [{column: row[key] for column, key in pairs} for row in rows])
        return
    sql, values = plan
    connection.exec_driver_sql(sql, [tuple([value(row) for value in values]) for row in rows])


@lru_cache(maxsize=256)
def _plan(dialect: Dialect, statement: Insert, pairs: Pairs) -> tuple[str, tuple[Value, ...]] | None:
    """The SQL and, for each of its parameters in order, how a row gives its value; None: SQLAlchemy's path."""
    table = statement.table
    if not isinstance(table, Table):
        return None
    key_of = dict(pairs)
    compiled = statement.compile(dialect=dialect, column_keys=list(key_of))
    if not compiled.positional or compiled.positiontup is None:
        return None
    values: list[Value] = []
    for name in compiled.positiontup:
        column = table.c.get(name)
        if column is None:
            return None  # a bind that is not a column's value
        value = _value(dialect, column, key_of.get(name))
        if value is None:
            return None
        values.append(value)
    return compiled.string, tuple(values)


def _value(dialect: Dialect, column: Column[Any], key: str | None) -> Value | None:
    """How a row gives `column`'s parameter: its value under `key`, else the column's Python-side default, through
    the column type's bind processor; None when there is no plain value or function to call (SQLAlchemy's path)."""
    process = column.type.dialect_impl(dialect).bind_processor(dialect)
    if key is not None:
        read: Value = itemgetter(key)
    else:
        default = column.default  # the statement names a column not given only for its Python-side default
        if default is None:
            return None
        if default.is_scalar:
            constant = default.arg  # type: ignore[attr-defined]
            read = lambda row: constant  # noqa: E731
        elif default.is_callable:
            function = default.arg  # type: ignore[attr-defined]  # SQLAlchemy wraps it to take a context
            read = lambda row: function(None)  # noqa: E731
        else:
            return None  # a sequence or a SQL expression: SQLAlchemy's path
    if process is None:
        return read
    return lambda row: process(read(row))
