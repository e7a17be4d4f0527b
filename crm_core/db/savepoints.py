"""Savepoints that behave on SQLite as they do on PostgreSQL.

Python's sqlite3 driver opens a transaction only before a data-changing statement. A SAVEPOINT issued while
none is open starts a transaction of its own, and releasing it COMMITS everything so far behind the unit of
work's back: a step meant to be undoable inside a larger transaction (one message of a mail batch, one
member of a campaign distribution) would make the earlier steps permanent even if the batch later fails.
So before a savepoint, a real transaction is opened explicitly. PostgreSQL needs nothing: its driver begins
a transaction with the first statement.

(SQLAlchemy's engine-wide pysqlite recipe would also do, but it makes every read a transaction too, and under
WAL a read transaction that later writes fails at once when another writer got in first.)"""

from sqlalchemy.orm import Session, SessionTransaction


def ensure_transaction(session: Session) -> None:
    """A real database transaction is open on the session's connection (SQLite: BEGIN if none is)."""
    connection = session.connection()
    if connection.dialect.name != "sqlite":
        return
    dbapi = connection.connection.dbapi_connection
    if dbapi is not None and not getattr(dbapi, "in_transaction", True):
        connection.exec_driver_sql("BEGIN")


def savepoint(session: Session) -> SessionTransaction:
    """session.begin_nested(), inside a real transaction: use as a context manager, or commit/rollback it."""
    ensure_transaction(session)
    return session.begin_nested()
