"""Rows inserted in bulk (crm_core/db/bulk_insert.py) are stored exactly as SQLAlchemy's own executemany stores them:
the same bind processing (ids, UTC datetimes, JSON), the same defaults for the columns not given, on SQLite where
the parameters are prepared column by column."""

import datetime as dt
import sqlite3
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import Boolean, Column, Integer, LargeBinary, MetaData, String, Table, Uuid, insert
from sqlalchemy.orm import Session

from crm_core.db.bulk_insert import insert_rows
from crm_core.db.engine import make_engine
from crm_core.db.types import JsonDoc, UtcDateTime

CALLS: list[int] = []


def _counted() -> dict[str, Any]:
    CALLS.append(1)
    return {"made": len(CALLS)}


def _table(metadata: MetaData) -> Table:
    return Table(
        "things", metadata,
        Column("id", Uuid, primary_key=True),
        Column("name", String(40)),
        Column("at", UtcDateTime),
        Column("doc", JsonDoc),
        Column("blob", LargeBinary),
        Column("count", Integer, default=7),
        Column("flag", Boolean, default=False),
        Column("made", JsonDoc, default=_counted),
        Column("note", String(10)),
    )


def _rows(offset: int) -> list[dict[str, Any]]:
    paris = dt.timezone(dt.timedelta(hours=1))
    return [{"i": uuid.UUID(int=offset + n), "n": f"thing {n}", "t": dt.datetime(2026, 11, 25, 10, n, tzinfo=paris),
             "d": {"changes": [None, f"caf\u00e9 {n}"], "n": n}, "b": bytes([n]) * 3, "f": n % 2 == 0}
            for n in range(5)]


def test_bulk_rows_are_stored_as_sqlalchemy_stores_them(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/bulk.db"
    engine = make_engine(url)
    metadata = MetaData()
    table = _table(metadata)
    metadata.create_all(engine)
    statement = insert(table)
    pairs = (("id", "i"), ("name", "n"), ("at", "t"), ("doc", "d"), ("blob", "b"), ("flag", "f"))
    with Session(engine) as session:
        insert_rows(session, statement, pairs, _rows(0))  # column by column
        session.execute(statement, [{c: row[k] for c, k in pairs} for row in _rows(100)])  # SQLAlchemy's way
        session.commit()
    engine.dispose()

    with sqlite3.connect(f"{tmp_path}/bulk.db") as raw:
        stored = raw.execute("SELECT * FROM things ORDER BY id").fetchall()
    ours, theirs = stored[:5], stored[5:]
    assert len(ours) == len(theirs) == 5
    for mine, sqlalchemy_row in zip(ours, theirs, strict=True):
        assert mine[1:7] == sqlalchemy_row[1:7]  # name, at (as UTC), doc, blob, the default count, flag
        assert mine[8] == sqlalchemy_row[8] is None  # a column with no value and no default
    assert [m[0] for m in ours] == [uuid.UUID(int=n).hex for n in range(5)]
    assert [t[0] for t in theirs] == [uuid.UUID(int=100 + n).hex for n in range(5)]
    assert ours[0][2] == "2026-11-25 09:00:00.000000"  # stored in UTC, as the UtcDateTime type does
    assert sorted(m[7] for m in stored) == sorted(f'{{"made": {n}}}' for n in range(1, 11))  # a default per row
