"""Two workers tracking two mailboxes that both received one mail must still make one activity of it. Dedupe
(dedupe.py) looks the mail up by Message-ID and by content fingerprint before writing; two transactions doing
that at the same moment would each find nothing. On PostgreSQL each batch therefore takes a transaction-scoped
advisory lock on every Message-ID and fingerprint it holds, in one sorted order (so two batches cannot deadlock),
before looking: the second waits for the first to commit, then finds its mail. SQLite needs none: a write
transaction there holds the whole database (BEGIN IMMEDIATE)."""

import hashlib
from collections.abc import Iterable

from sqlalchemy import text
from sqlalchemy.orm import Session

from mailbridge.message import NormalisedMessage


def _key(kind: str, value: str) -> int:
    digest = hashlib.blake2b(f"{kind}:{value}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def lock_messages(session: Session, messages: Iterable[NormalisedMessage]) -> None:
    if session.get_bind().dialect.name != "postgresql":
        return
    keys: set[int] = set()
    for message in messages:
        keys.add(_key("fingerprint", message.fingerprint))
        if message.message_id:
            keys.add(_key("message_id", message.message_id))
    if keys:
        # One statement; unnest yields the sorted array in order, and the aggregate takes the locks in that order.
        session.execute(text("SELECT count(pg_advisory_xact_lock(k)) FROM unnest(CAST(:keys AS bigint[])) AS k"),
                        {"keys": sorted(keys)})
