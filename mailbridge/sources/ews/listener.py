"""The EWS listener: one streaming connection (streaming.py) per approved EWS mailbox with incoming sync on, each in
a thread of its own, and the list read again from the database every `refresh_seconds`, so that a mailbox added,
approved, switched off, removed or given other folders or credentials is picked up without a restart.

An event on a mailbox marks it `sync_requested_on` (mailbridge.notifications.store.request_sync), as a Graph
change notification does; the dispatcher then syncs it at its next round. The listener never syncs itself.

A mailbox whose server refuses streaming notifications is logged once and left to its schedule; it is asked
again after `refused_retry_seconds` (a server may be upgraded), quietly. Run one listener per deployment (the
workers start it in `crm beat`): two would hold two connections per mailbox, which Exchange limits per login."""

import logging
import ssl
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from crm_core.db.unit_of_work import UnitOfWork
from crm_core.errors import CrmError
from crm_core.models import EmailServerProfile, Mailbox
from crm_core.services.mailboxes import connection_of
from mailbridge.notifications.store import request_sync
from mailbridge.sources.ews.settings import EwsSettings
from mailbridge.sources.ews.streaming import REFUSED, MailboxStream, StreamOptions

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ListenerOptions:
    stream: StreamOptions = field(default_factory=StreamOptions)
    timeout: float = 30.0  # for the short requests (Subscribe, GetFolder); a connection has its own
    ssl_context: ssl.SSLContext | None = field(default=None, repr=False, compare=False)
    refresh_seconds: float = 60.0
    refused_retry_seconds: float = 6 * 3600.0


def ews_mailboxes(factory: sessionmaker[Session], options: ListenerOptions) -> dict[uuid.UUID, EwsSettings]:
    """The EWS mailboxes that may sync now, with how to reach them (credentials opened)."""
    found: dict[uuid.UUID, EwsSettings] = {}
    with UnitOfWork(factory) as uow:
        mailboxes = uow.session.scalars(
            select(Mailbox)
            .join(EmailServerProfile, Mailbox.server_profile_id == EmailServerProfile.id)
            .where(
                EmailServerProfile.incoming_protocol == "ews",
                Mailbox.approval_status == "approved",
                Mailbox.incoming_enabled.is_(True),
                Mailbox.sync_stopped_on.is_(None),
            )
            .order_by(Mailbox.id)
        )
        for mailbox in mailboxes:
            if not mailbox.may_sync("incoming"):
                continue
            try:
                connection = connection_of(uow.session, mailbox)
                found[mailbox.id] = EwsSettings.of_connection(
                    connection, timeout=options.timeout, ssl_context=options.ssl_context
                )
            except CrmError as exc:  # a secret that cannot be opened, settings the sync will refuse too
                log.debug("mailbox %s: not listened to: %s", mailbox.id, exc.detail)
    return found


@dataclass(frozen=True)
class _Running:
    stream: MailboxStream
    thread: threading.Thread


class EwsListener:
    def __init__(self, factory: sessionmaker[Session], options: ListenerOptions | None = None) -> None:
        self._factory = factory
        self.options = options or ListenerOptions()
        self._running: dict[uuid.UUID, _Running] = {}
        self._refused: dict[uuid.UUID, float] = {}  # mailbox -> when to ask its server again
        self._told: set[uuid.UUID] = set()  # mailboxes whose refusal was logged
        self._lock = threading.Lock()

    @property
    def listening(self) -> set[uuid.UUID]:
        """The mailboxes with a stream running now."""
        with self._lock:
            return {k for k, r in self._running.items() if r.thread.is_alive()}

    def run(self, stop: threading.Event) -> None:
        """Refreshes until `stop` is set, then stops every stream. A failed refresh (the database away) is logged
        and tried again at the next one."""
        try:
            while not stop.is_set():
                try:
                    self.refresh()
                except SQLAlchemyError as exc:
                    log.warning("EWS listener: cannot read the mailboxes: %s", exc)
                stop.wait(self.options.refresh_seconds)
        finally:
            self.close()

    def refresh(self) -> None:
        wanted = ews_mailboxes(self._factory, self.options)
        now = time.monotonic()
        with self._lock:
            for mailbox_id, running in list(self._running.items()):
                changed = wanted.get(mailbox_id) != running.stream.settings
                if changed or not running.thread.is_alive():
                    running.stream.stop()
                    del self._running[mailbox_id]
            for mailbox_id in set(self._refused) - set(wanted):
                del self._refused[mailbox_id]
            for mailbox_id, settings in wanted.items():
                if mailbox_id not in self._running and self._refused.get(mailbox_id, 0.0) <= now:
                    self._start(mailbox_id, settings)

    def close(self, timeout: float = 10.0) -> None:
        with self._lock:
            running, self._running = list(self._running.values()), {}
        for item in running:
            item.stream.stop()
        for item in running:
            item.thread.join(timeout)

    def _refused_by(self, mailbox_id: uuid.UUID, stream: MailboxStream, now: float) -> None:
        self._refused[mailbox_id] = now + self.options.refused_retry_seconds
        if mailbox_id not in self._told:
            self._told.add(mailbox_id)
            log.info(
                "mailbox %s (%s): the server gives no streaming notifications (%s); it syncs on its schedule",
                mailbox_id,
                stream.settings.address,
                stream.refusal,
            )

    def _start(self, mailbox_id: uuid.UUID, settings: EwsSettings) -> None:
        stream = MailboxStream(settings, self._requester(mailbox_id), self.options.stream)
        thread = threading.Thread(
            target=self._run_stream, args=(mailbox_id, stream), daemon=True, name=f"ews-stream {settings.address}"
        )
        self._running[mailbox_id] = _Running(stream, thread)
        thread.start()

    def _run_stream(self, mailbox_id: uuid.UUID, stream: MailboxStream) -> None:
        try:
            outcome = stream.run()
        except Exception:  # a bug must not end the listener's other streams; the schedule covers this mailbox
            log.exception("mailbox %s: the notification stream failed", mailbox_id)
            return  # the next refresh starts it again
        if outcome == REFUSED:
            with self._lock:
                running = self._running.get(mailbox_id)
                if running is not None and running.stream is stream:
                    del self._running[mailbox_id]
                    self._refused_by(mailbox_id, stream, time.monotonic())

    def _requester(self, mailbox_id: uuid.UUID) -> Callable[[], None]:
        def request() -> None:
            try:
                with UnitOfWork(self._factory) as uow:
                    request_sync(uow.session, [mailbox_id])
                    uow.commit()
            except SQLAlchemyError as exc:  # the schedule syncs the mailbox anyway
                log.warning("mailbox %s: a notification could not be recorded: %s", mailbox_id, exc)

        return request
