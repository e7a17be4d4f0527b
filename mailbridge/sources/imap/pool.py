"""Logged-in IMAP sessions kept between passes of the same mailbox in one process.

A pass that connects afresh pays for the server's greeting, the login, the capabilities and the folder's
EXAMINE before it learns anything: on a Dovecot on loopback, about 15 ms, which is most of what a pass with no
change costs, and far more across a real network. A worker syncs the same mailboxes again and again, so
`ImapSource` hands its session back here when a pass ends cleanly and takes it again on the next pass, after a
NOOP shows it still answers (a dead one is closed and a new one opened, nothing more). The kept session also
keeps its last folder selected, which lets the next pass confirm an unchanged folder with that NOOP (sync.py).

Sessions are keyed by server, security, login name and a digest of the password: a changed credential never
gets a session logged in with the old one. A session serves for KEEP_SECONDS after its login at most (well
under the 30 minutes after which RFC 3501 lets a server log an idle client out; and whatever a server failed to
tell a kept session is seen by the next one), at most MAX_KEPT are kept in all (the least recently used is
logged out first), and only in the process that opened them (a forked worker starts with none)."""

import atexit
import contextlib
import hashlib
import os
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass

from mailbridge.sources.imap.session import ImapSession
from mailbridge.sources.imap.settings import ImapSettings

KEEP_SECONDS = 300.0
MAX_KEPT = 64

PoolKey = tuple[str, int, str, str, str, int | None]


def pool_key(settings: ImapSettings) -> PoolKey:
    digest = hashlib.sha256(settings.password.encode()).hexdigest()
    context = None if settings.ssl_context is None else id(settings.ssl_context)
    return (settings.host.lower(), settings.effective_port, settings.security, settings.username, digest, context)


@dataclass
class _Kept:
    session: ImapSession
    pid: int


class SessionPool:
    def __init__(self, keep_seconds: float = KEEP_SECONDS, size: int = MAX_KEPT) -> None:
        self.keep_seconds, self.size = keep_seconds, size
        self._lock = threading.Lock()
        self._kept: OrderedDict[tuple[PoolKey, int], _Kept] = OrderedDict()  # oldest first
        self._serial = 0

    def take(self, settings: ImapSettings) -> ImapSession | None:
        """A kept session for these settings (the most recently kept), now the caller's alone; None if none."""
        key, found = pool_key(settings), None
        with self._lock:
            stale = self._expired()
            for entry_key in reversed(list(self._kept)):
                if entry_key[0] == key:
                    found = self._kept.pop(entry_key).session
                    break
        for session in stale:
            session.close()
        if found is not None:
            found.settings = settings  # the same server and login; this pass's timeout and batch size
        return found

    def give(self, settings: ImapSettings, session: ImapSession) -> None:
        """Keeps an open session for the next pass with these settings."""
        with self._lock:
            evicted = self._expired()
            self._serial += 1
            self._kept[(pool_key(settings), self._serial)] = _Kept(session, os.getpid())
            while len(self._kept) > self.size:
                evicted.append(self._kept.popitem(last=False)[1].session)
        for old in evicted:
            old.close()

    def _expired(self) -> list[ImapSession]:
        """Drops the sessions past their time (to be logged out by the caller, outside the lock) and a forked
        process's copies (the sockets are the parent's: never touched here)."""
        now, pid, out = time.monotonic(), os.getpid(), []
        for entry_key, entry in list(self._kept.items()):
            if entry.pid != pid:
                del self._kept[entry_key]
            elif now - entry.session.opened_at > self.keep_seconds:
                out.append(self._kept.pop(entry_key).session)
        return out

    def clear(self) -> None:
        """Logs out every kept session of this process."""
        with self._lock:
            entries, self._kept = list(self._kept.values()), OrderedDict()
        for entry in entries:
            if entry.pid == os.getpid():
                with contextlib.suppress(RuntimeError, OSError):  # a server gone silent must not hold the exit
                    entry.session.client._imap.sock.settimeout(1.0)
                entry.session.close()

    def __len__(self) -> int:
        return len(self._kept)


POOL = SessionPool()
atexit.register(POOL.clear)
