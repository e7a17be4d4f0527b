"""EWS streaming notifications for one mailbox, as a trigger: a streaming subscription to the mailbox's synced
folders and a long-lived GetStreamingEvents connection on it, calling `on_change()` whenever the server reports
an event. What the event says (which item, which folder) is not used: the sync stays the source of truth and
finds the change itself; a lost or late notification costs nothing but time (the schedule syncs anyway).

Through exchangelib's own operations: `FolderCollection.subscribe_to_streaming()` (Subscribe with a
StreamingSubscriptionRequest for the folders, events NewMail, Created, Modified, Moved and Deleted), its
`GetStreamingEvents` service (as `Folder.get_streaming_events()` uses it, kept here so that `stop()` can end the
connection) and `unsubscribe()`. Exchange's rules, and what the stream does about each:

- A connection lasts `connection_minutes` (ConnectionTimeout, at most 30); the server ends it with
  ConnectionStatus Closed and the same subscription is asked again at once. Events that happen in between are
  kept by the server for the subscription.
- A subscription lives while a connection is open and about 30 minutes after; one the server no longer knows
  (ErrorSubscriptionNotFound, ErrorInvalidSubscription, ... after an expiry, a restart, a mailbox move) is made
  again, and `on_change()` is called once, since what changed meanwhile was not notified.
- A server that refuses streaming subscriptions (Exchange before 2010 SP1, ErrorInvalidRequest, a schema or
  version error, delegate access) ends the stream with the outcome "refused": the mailbox is polled on its
  schedule as before.
- ErrorServerBusy waits the server's BackOffMilliseconds (any length: nothing waits on the stream); dropped
  connections, refused logins and other failures wait a growing delay (`retry_seconds` doubled up to
  `max_retry_seconds`) and start again on a fresh session."""

import logging
import socket
import threading
import time
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from typing import Any

from exchangelib import errors as ews
from exchangelib.folders import FolderCollection
from exchangelib.services import GetStreamingEvents

from mailbridge.errors import FolderMissing, MailError, ProtocolError, TemporaryFailure
from mailbridge.sources.ews import folders as folder_lookup
from mailbridge.sources.ews.errors import ews_errors
from mailbridge.sources.ews.session import EwsSession
from mailbridge.sources.ews.settings import EwsSettings

log = logging.getLogger(__name__)
EVENT_TYPES = ("NewMailEvent", "CreatedEvent", "ModifiedEvent", "MovedEvent", "DeletedEvent")
# What a server says of a subscription it no longer has (or never will deliver again): make a new one.
LOST = (
    ews.ErrorSubscriptionNotFound,
    ews.ErrorInvalidSubscription,
    ews.ErrorSubscriptionUnsubsribed,
    ews.ErrorReadEventsFailed,
    ews.ErrorMissedNotificationEvents,
    ews.ErrorInvalidWatermark,
)
STOPPED, REFUSED = "stopped", "refused"


@dataclass(frozen=True)
class StreamOptions:
    connection_minutes: int = 30  # GetStreamingEvents' ConnectionTimeout, 1 to 30
    retry_seconds: float = 5.0  # the first wait after a failure, doubled at each one more
    max_retry_seconds: float = 300.0

    def __post_init__(self) -> None:
        if not 1 <= self.connection_minutes <= 30:
            raise ValueError("connection_minutes must be 1 to 30 (EWS's ConnectionTimeout)")

    def delay(self, failures: int) -> float:
        return float(min(self.max_retry_seconds, self.retry_seconds * 2 ** max(0, failures - 1)))


class StreamingRefused(MailError):
    """The server does not offer streaming notifications for this mailbox."""

    reason = "streaming_refused"


class SubscriptionLost(MailError):
    reason = "subscription_lost"


class MailboxStream:
    """One mailbox's subscription and connection, for one thread: `run()` until `stop()` (from any thread) or a
    refusal; it returns STOPPED or REFUSED. `on_change` is called in the stream's thread."""

    def __init__(
        self, settings: EwsSettings, on_change: Callable[[], None], options: StreamOptions | None = None
    ) -> None:
        self.settings = settings
        self.options = options or StreamOptions()
        self.refusal: str | None = None  # why the server refused, when it did
        self._on_change = on_change
        self._stopping = threading.Event()
        self._session: EwsSession | None = None
        self._service: GetStreamingEvents | None = None
        self._subscription: str | None = None

    def stop(self) -> None:
        """Ends the stream: the connection is cut now (its thread would otherwise wait up to its timeout)."""
        self._stopping.set()
        _interrupt(self._service)

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    def run(self) -> str:
        failures, lost = 0, False
        try:
            while not self.stopping:
                try:
                    session = self._open()
                    if self._subscription is None:
                        self._subscription = self._subscribe(session)
                        if lost:
                            lost = False
                            self._on_change()  # what changed while it was gone was not notified
                    started = time.monotonic()
                    self._listen(session, self._subscription)
                    failures = 0
                    if time.monotonic() - started < 1.0:  # a server closing at once is not asked in a tight loop
                        self._stopping.wait(self.options.retry_seconds)
                except SubscriptionLost as exc:
                    log.info("%s: %s; subscribing again", self.settings.address, exc.detail)
                    self._subscription, lost = None, True
                except StreamingRefused as exc:
                    self.refusal = exc.detail
                    return REFUSED
                except MailError as exc:
                    if self.stopping:
                        break
                    failures += 1
                    self._wait_after(exc, failures)
        finally:
            self._close()
        return STOPPED

    def _open(self) -> EwsSession:
        if self._session is None:
            session = EwsSession(self.settings)
            session.open()
            self._session = session
        return self._session

    def _close(self) -> None:
        session, self._session = self._session, None
        if session is None:
            return
        if self._subscription is not None:  # polite: the server would drop it ~30 minutes after the last connection
            with suppress(MailError), ews_errors(session.where, "unsubscribing"):
                FolderCollection(account=session.account, folders=[]).unsubscribe(self._subscription)
            self._subscription = None
        session.close()

    def _wait_after(self, exc: MailError, failures: int) -> None:
        retry_after = exc.retry_after if isinstance(exc, TemporaryFailure) and exc.reason == "throttled" else None
        throttled = bool(retry_after)
        wait = float(retry_after) if retry_after else self.options.delay(failures)
        level = logging.WARNING if failures == 1 and not throttled else logging.DEBUG
        log.log(
            level, "%s: notifications interrupted (%s); trying again in %.0f s", self.settings.address, exc.detail, wait
        )
        if not throttled:  # a fresh session: the failure may have left the connection or the login unusable
            session, self._session = self._session, None
            if session is not None:
                session.close()
        self._stopping.wait(wait)

    def _subscribe(self, session: EwsSession) -> str:
        account = session.account
        ids = []
        with ews_errors(session.where, "finding the folders to watch"):
            for spec in self.settings.folders:
                with suppress(FolderMissing):  # the sync reports a missing folder; the others are watched
                    ids.append(folder_lookup.resolve(account, spec).folder_id)
        if not ids:
            raise FolderMissing("none of the synced folders exists")
        try:
            with ews_errors(session.where, "subscribing to streaming notifications"):
                try:
                    subscription = FolderCollection(account=account, folders=ids).subscribe_to_streaming(
                        event_types=EVENT_TYPES
                    )
                except NotImplementedError as exc:  # exchangelib knows the server's version to be too old
                    raise StreamingRefused(str(exc)) from exc
        except ProtocolError as exc:
            # An EWS answer that is neither throttling, nor a login, nor a connection problem: the server does not
            # give this mailbox streaming notifications. An HTTP failure without one is a failure like any other.
            cause = exc.__cause__
            if type(cause) is ews.TransportError and cause.__context__ is not None:
                cause = cause.__context__  # exchangelib's version probe wraps the server's answer
            if not isinstance(cause, (ews.ResponseMessageError, ews.SOAPError)):
                raise
            raise StreamingRefused(exc.detail) from exc
        if not subscription:
            raise StreamingRefused("the server answered Subscribe without a subscription id")
        log.debug("%s: subscribed to %d folder(s)", self.settings.address, len(ids))
        return str(subscription)

    def _listen(self, session: EwsSession, subscription: str) -> None:
        """One connection, until the server closes it (its timeout) or `stop()`."""
        service = GetStreamingEvents(account=session.account)
        self._service = service
        if self.stopping:  # stop() came before the service existed to be interrupted
            return
        try:
            with ews_errors(session.where, "waiting for notifications"):
                try:
                    for notification in service.call(
                        subscription_ids=[subscription], connection_timeout=self.options.connection_minutes
                    ):
                        if notification.events:
                            self._on_change()
                        if self.stopping:
                            return
                except LOST as exc:
                    raise SubscriptionLost(f"the server lost the subscription ({type(exc).__name__})") from exc
        finally:
            self._service = None
            with suppress(Exception):
                service.stop_streaming()


def _interrupt(service: GetStreamingEvents | None) -> None:
    """Cuts a streaming connection from another thread. Closing the response would not wake a thread blocked
    reading it; shutting its socket down does. exchangelib keeps the response on the service (no public way)."""
    response: Any = getattr(service, "_streaming_response", None)
    with suppress(Exception):
        response.raw.connection.sock.shutdown(socket.SHUT_RDWR)
