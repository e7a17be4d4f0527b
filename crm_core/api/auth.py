"""Who is calling: bearer token to Principal, with a per-process cache that the security epoch keeps honest.

Without the cache every call costs the token, the user, his roles and privileges, his teams and their roles,
and the unit tree: seven queries. With it, one: the epoch. Any change to users, teams, units, roles or tokens
bumps the epoch in its own transaction (crm_core.security.epoch), so a revoked token, a disabled user or a
removed role stops working on the very next call, in every process."""

import threading
from collections import OrderedDict
from datetime import datetime

from sqlalchemy.orm import Session

from crm_core.security import epoch, tokens
from crm_core.security.principal import Principal, load_principal


class PrincipalCache:
    def __init__(self, size: int = 10_000) -> None:
        self._size = size
        self._entries: OrderedDict[str, tuple[int, datetime, Principal]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str, current: int) -> tuple[datetime, Principal] | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or entry[0] != current:
                return None
            self._entries.move_to_end(key)
            return entry[1], entry[2]

    def put(self, key: str, current: int, expires_on: datetime, principal: Principal) -> None:
        with self._lock:
            self._entries[key] = (current, expires_on, principal)
            self._entries.move_to_end(key)
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)


def authenticate(session: Session, token: str, cache: PrincipalCache) -> Principal:
    tokens.check_form(token)
    key = tokens.digest(token)
    current = epoch.current(session)  # first the epoch, then the state it vouches for
    if current is not None and (hit := cache.get(key, current)) is not None:
        expires_on, principal = hit
        tokens.check_expiry(expires_on)
        return principal
    row = tokens.verify(session, token)
    principal = load_principal(session, row.user_id)
    if current is not None:
        cache.put(key, current, row.expires_on, principal)
    return principal
