"""The EWS listener (mailbridge.sources.ews.listener) as a thread of `crm beat`: beat is the one process a
deployment runs once, which is what the listener needs (one streaming connection per mailbox, and Exchange counts
them per login). It only marks mailboxes `sync_requested_on`; beat's dispatcher sends their syncs."""

import logging
import threading

from workers import runtime

log = logging.getLogger(__name__)


def start_ews_listener(stop: threading.Event | None = None) -> threading.Thread:
    """Starts the listener in a daemon thread (it dies with the process; `stop` ends it sooner)."""
    from mailbridge.sources.ews.listener import EwsListener

    listener = EwsListener(runtime.session_factory())
    thread = threading.Thread(target=listener.run, args=(stop or threading.Event(),), name="ews listener", daemon=True)
    thread.start()
    log.info("EWS streaming notifications: listening for the approved EWS mailboxes")
    return thread
