"""Graph change-notification subscriptions for the folders a mailbox syncs: made, renewed before Graph ends them,
made again when Graph forgot them, and deleted when a folder is no longer synced.

A subscription asks Graph (POST /subscriptions) to POST to our webhook (router.py) when a message of one folder
is created, updated or deleted, and to our lifecycle endpoint when the subscription needs care. Its clientState
is a fresh random secret per subscription: Graph sends it back with every notification, and it is the only
thing that authenticates one (store.py keeps its digest). Graph validates both URLs before it answers (the
handshake router.py answers), so the app must be reachable at the public URL first.

Graph ends a subscription to Outlook messages after at most 10,080 minutes (7 days); we ask for a little less
and renew (PATCH) those that end within `renew_within`. A renewal Graph answers 404 (it dropped the
subscription) makes a new one in its place. A notification only asks for a sync sooner: the delta sync stays
the source of truth, so nothing is lost while a subscription is missing."""

import logging
import secrets
import ssl
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from crm_core.db.types import utcnow
from crm_core.db.unit_of_work import UnitOfWork
from crm_core.errors import ValidationFailed
from crm_core.services.mailboxes import connection_of
from mailbridge.errors import FolderMissing, MailError, ProtocolError
from mailbridge.notifications import store
from mailbridge.notifications.store import NewSubscription, StoredSubscription
from mailbridge.sources.graph import folders as graph_folders
from mailbridge.sources.graph.client import GraphClient
from mailbridge.sources.graph.folders import GraphFolder
from mailbridge.sources.graph.settings import GraphSettings
from mailbridge.tracking.context import load_mailbox

log = logging.getLogger(__name__)

NOTIFICATIONS_PATH = "/api/v1/graph/notifications"
LIFECYCLE_PATH = "/api/v1/graph/lifecycle"
CHANGE_TYPES = "created,updated,deleted"
MAX_LIFETIME = timedelta(minutes=10080)  # Graph's maximum for Outlook messages
LIFETIME = MAX_LIFETIME - timedelta(minutes=30)  # under it, whatever our clock and Graph's disagree by
RENEW_WITHIN = timedelta(days=2)  # a worker renewing hourly (or even daily) never lets one lapse


# --- Graph's subscription API ----------------------------------------------------------------------
def notification_urls(public_url: str) -> tuple[str, str]:
    """(notificationUrl, lifecycleNotificationUrl) under the app's public base URL; Graph calls only HTTPS."""
    base = public_url.strip().rstrip("/")
    if not base.lower().startswith("https://"):
        raise ValidationFailed.field("graph_notification_url", "Graph calls back only over HTTPS (https://...)")
    return base + NOTIFICATIONS_PATH, base + LIFECYCLE_PATH


def _graph_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _expiry(answer: Any, what: str) -> datetime:
    value = answer.get("expirationDateTime") if isinstance(answer, dict) else None
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise ProtocolError(f"Graph's answer to {what} has no usable expirationDateTime ({value!r})") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def create(client: GraphClient, user: str, folder: GraphFolder, public_url: str,
           now: datetime | None = None) -> NewSubscription:
    """Subscribes to the messages of `folder`; Graph validates both URLs (the handshake) before it answers."""
    notification_url, lifecycle_url = notification_urls(public_url)
    client_state = secrets.token_urlsafe(32)  # 43 characters; Graph allows 128
    expires = (now or utcnow()) + LIFETIME
    what = f"subscribe to changes in {folder.name!r}"
    answer = client.request("POST", "/subscriptions", what, json_body={
        "changeType": CHANGE_TYPES, "resource": f"{graph_folders.user_path(user).lstrip('/')}/mailFolders"
        f"('{folder.id}')/messages", "notificationUrl": notification_url,
        "lifecycleNotificationUrl": lifecycle_url, "expirationDateTime": _graph_time(expires),
        "clientState": client_state, "latestSupportedTlsVersion": "v1_2"}).json()
    subscription_id = answer.get("id") if isinstance(answer, dict) else None
    if not isinstance(subscription_id, str) or not subscription_id:
        raise ProtocolError(f"Graph's answer to {what} has no subscription id")
    return NewSubscription(subscription_id, _expiry(answer, what), client_state)


def renew(client: GraphClient, subscription_id: str, now: datetime | None = None) -> datetime:
    """Extends the subscription to the longest we ask for; the new end. MailError "not_found" when Graph no
    longer knows it."""
    what = "renew a change notification subscription"
    answer = client.request("PATCH", f"/subscriptions/{subscription_id}", what,
                            json_body={"expirationDateTime": _graph_time((now or utcnow()) + LIFETIME)}).json()
    return _expiry(answer, what)


def delete(client: GraphClient, subscription_id: str) -> None:
    """Ends the subscription; one Graph no longer knows is ended already."""
    try:
        client.request("DELETE", f"/subscriptions/{subscription_id}", "delete a change notification subscription")
    except MailError as exc:
        if exc.reason != "not_found":
            raise


# --- the service -----------------------------------------------------------------------------------
@dataclass
class SubscriptionSummary:
    """What `ensure_subscriptions` did, by folder name; `skipped` says why it did nothing."""

    mailbox_id: uuid.UUID
    created: list[str] = field(default_factory=list)
    renewed: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)  # Graph had dropped them: made again
    kept: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)  # folders no longer synced
    problems: dict[str, str] = field(default_factory=dict)  # folder spec -> why it has no subscription
    skipped: str | None = None


def _graph_settings(session: Session, mailbox_id: uuid.UUID,
                    ssl_context: ssl.SSLContext | None) -> tuple[GraphSettings | None, str | None]:
    """The mailbox's Graph settings, or why it gets no subscriptions (it may not sync)."""
    mailbox = load_mailbox(session, mailbox_id)
    permission = mailbox.may_sync("incoming")
    if not permission:
        return None, permission.reason
    return GraphSettings.of_connection(connection_of(session, mailbox), ssl_context=ssl_context), None


def ensure_subscriptions(session_factory: sessionmaker[Session], mailbox_id: uuid.UUID, public_url: str,
                         ssl_context: ssl.SSLContext | None = None,
                         renew_within: timedelta = RENEW_WITHIN) -> SubscriptionSummary:
    """One subscription per synced folder of a Graph mailbox: made where missing, renewed when it ends within
    `renew_within`, made again when Graph no longer knows it, deleted for a folder no longer synced. Idempotent:
    a worker calls it periodically. A mailbox that may not sync is skipped (its subscriptions lapse by
    themselves); ValidationFailed for a mailbox that is not a Graph one. Graph's refusals raise mailbridge
    errors (a revoked consent: AuthenticationFailed, which the sync reports and acts on)."""
    notification_urls(public_url)  # refused before any request when it is not HTTPS
    summary = SubscriptionSummary(mailbox_id)
    with UnitOfWork(session_factory) as uow:
        settings, summary.skipped = _graph_settings(uow.session, mailbox_id, ssl_context)
        stored = store.subscriptions_of(uow.session, mailbox_id)
    if settings is None:
        return summary
    client = GraphClient(settings)
    try:
        wanted: dict[str, GraphFolder] = {}
        for spec in settings.folders:
            try:
                folder = graph_folders.resolve(client, settings.user, spec)
            except FolderMissing as exc:
                summary.problems[spec] = exc.detail
                continue
            wanted[folder.name] = folder
        for name, folder in wanted.items():
            current = stored.get(name)
            try:
                _ensure_one(session_factory, client, mailbox_id, settings.user, folder, current, public_url,
                            renew_within, summary)
            except MailError as exc:
                if exc.reason not in ("not_found", "folder_missing"):
                    raise
                summary.problems[name] = exc.detail  # the folder went away meanwhile
        for name, current in stored.items():
            if name not in wanted:
                delete(client, current.subscription_id)
                store.forget(session_factory, current.subscription_id)
                summary.removed.append(name)
    finally:
        client.close()
    return summary


def _ensure_one(session_factory: sessionmaker[Session], client: GraphClient, mailbox_id: uuid.UUID, user: str,
                folder: GraphFolder, current: StoredSubscription | None, public_url: str, renew_within: timedelta,
                summary: SubscriptionSummary) -> None:
    now = utcnow()
    if current is None:
        _subscribe(session_factory, client, mailbox_id, user, folder, public_url, None)
        summary.created.append(folder.name)
        return
    if current.expires_on - now > renew_within:
        summary.kept.append(folder.name)
        return
    try:
        store.renewed(session_factory, current.subscription_id, renew(client, current.subscription_id, now))
        summary.renewed.append(folder.name)
    except MailError as exc:
        if exc.reason != "not_found":
            raise
        _subscribe(session_factory, client, mailbox_id, user, folder, public_url, current.subscription_id)
        summary.replaced.append(folder.name)


def _subscribe(session_factory: sessionmaker[Session], client: GraphClient, mailbox_id: uuid.UUID, user: str,
               folder: GraphFolder, public_url: str, replacing: str | None) -> None:
    """A new subscription for the folder, stored (in place of `replacing`); deleted again at Graph when another
    worker stored one for the folder first, so that one per folder remains."""
    new = create(client, user, folder, public_url)
    if not store.save(session_factory, mailbox_id, folder.name, new, replacing):
        delete(client, new.subscription_id)


# --- what a lifecycle notification asks for ---------------------------------------------------------
def renew_now(session_factory: sessionmaker[Session], subscription_id: str, public_url: str | None,
              ssl_context: ssl.SSLContext | None = None) -> str:
    """Renews one subscription now (Graph asked for reauthorization); one Graph no longer knows is made again.
    Returns what was done: "renewed", "replaced", or why nothing was."""
    return _refresh(session_factory, subscription_id, public_url, ssl_context, recreate=False)


def create_again(session_factory: sessionmaker[Session], subscription_id: str, public_url: str | None,
                 ssl_context: ssl.SSLContext | None = None) -> str:
    """Makes a new subscription in place of one Graph removed. Returns "replaced", or why nothing was done."""
    return _refresh(session_factory, subscription_id, public_url, ssl_context, recreate=True)


def _refresh(session_factory: sessionmaker[Session], subscription_id: str, public_url: str | None,
             ssl_context: ssl.SSLContext | None, recreate: bool) -> str:
    with UnitOfWork(session_factory) as uow:
        current = store.subscription(uow.session, subscription_id)
        if current is None:
            return "unknown subscription"
        settings, skipped = _graph_settings(uow.session, current.mailbox_id, ssl_context)
    if settings is None:
        return f"skipped: {skipped}"
    client = GraphClient(settings)
    try:
        if not recreate:
            try:
                store.renewed(session_factory, subscription_id, renew(client, subscription_id))
                return "renewed"
            except MailError as exc:
                if exc.reason != "not_found":
                    raise
        if public_url is None:
            return "skipped: no public URL for Graph to call back (graph_notification_url)"
        folder = graph_folders.resolve(client, settings.user, current.folder)
        _subscribe(session_factory, client, current.mailbox_id, settings.user, folder, public_url, subscription_id)
        return "replaced"
    finally:
        client.close()
