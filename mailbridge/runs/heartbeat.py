"""The heartbeat of a running pass: a thread that renews the mailbox's lease while the process lives, and writes
the pass's progress where the admin page reads it. A SIGKILLed worker stops beating, its lease expires, and
another worker takes the mailbox over; a worker whose lease was taken (it stalled past the expiry) learns it
here and stops at its next message, before committing anything more."""

import logging
import threading
import uuid
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from crm_core.db.types import utcnow
from crm_core.models import MailboxSyncState
from crm_core.services import leases
from mailbridge.errors import MailError
from mailbridge.tracking.results import ProgressEvent

log = logging.getLogger(__name__)


class LeaseLost(MailError):
    """Another worker holds the mailbox now: this pass stops without committing more."""

    reason = "lease_lost"


class Heartbeat:
    def __init__(self, factory: sessionmaker[Session], mailbox_id: uuid.UUID, key: str, owner: str,
                 lease_seconds: float) -> None:
        self._factory, self._mailbox_id, self._key, self._owner = factory, mailbox_id, key, owner
        self._lease_seconds = lease_seconds
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._progress: dict[str, Any] = {"folder": None, "done": 0, "tracked": 0}
        self._dirty = False
        self.lost = False
        self._thread = threading.Thread(target=self._run, name=f"heartbeat {mailbox_id}", daemon=True)

    def __enter__(self) -> "Heartbeat":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def progress(self, event: ProgressEvent) -> None:
        """The tracking driver's progress callback (called inside a batch's transaction: it only remembers)."""
        if self.lost:
            raise LeaseLost(f"another worker took over mailbox {self._mailbox_id}")
        with self._lock:
            p = self._progress
            if p["folder"] != event.folder:
                p["folder"], p["folder_done"] = event.folder, 0
            p["done"] += 1
            p["folder_done"] = event.done
            p["total"] = event.total
            p["tracked"] += event.outcome.kind == "tracked"
            self._dirty = True

    def _run(self) -> None:
        # Progress is written about every second; the lease is renewed at a third of its length.
        renew_every = max(0.5, self._lease_seconds / 3)
        tick = min(1.0, renew_every)
        since_renewal = 0.0
        while not self._stop.wait(tick):
            since_renewal += tick
            try:
                if since_renewal >= renew_every:
                    since_renewal = 0.0
                    if not leases.renew(self._factory, self._key, self._owner, self._lease_seconds):
                        self.lost = True
                        log.warning("mailbox %s: lease lost to another worker", self._mailbox_id)
                        return
                self._flush()
            except Exception:  # a database hiccup must not kill the pass; the next beat tries again
                log.exception("mailbox %s: heartbeat failed", self._mailbox_id)

    def _flush(self) -> None:
        with self._lock:
            if not self._dirty:
                return
            snapshot = dict(self._progress, updated_on=utcnow().isoformat())
            self._dirty = False
        with self._factory() as session:
            session.execute(update(MailboxSyncState).where(MailboxSyncState.mailbox_id == self._mailbox_id,
                                                           MailboxSyncState.stage == "running")
                            .values(progress=snapshot))
            session.commit()
