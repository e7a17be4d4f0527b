"""Change notifications by webhook (concepts/change-notifications-delivery-webhooks.md).

`POST /subscriptions` validates the notificationUrl (and lifecycleNotificationUrl) as Graph does: a POST to it with
`?validationToken=...`, which must be answered 200, `text/plain`, with the token echoed, within 10 seconds;
otherwise 400. Expiry beyond the maximum for Outlook messages (10,080 minutes) is refused. While a subscription
lives, each created/updated/deleted message in the subscribed folder (or mailbox) is POSTed to notificationUrl
from a background thread, in the documented payload (subscriptionId, clientState, changeType, resource,
resourceData with the message id, tenantId). `lifecycle()` POSTs a lifecycle notification (reauthorizationRequired,
subscriptionRemoved, missed) to lifecycleNotificationUrl. Graph only calls HTTPS endpoints; the fake trusts the
test certificate for them."""

import datetime as dt
import http.client
import json
import queue
import re
import secrets
import ssl
import threading
import time
import urllib.parse
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tests.fakes.graph.entra import Principal
from tests.fakes.graph.mailbox import FakeMailbox
from tests.fakes.graph.replies import GraphError, Reply, bad_request, empty_reply, iso, json_reply, utcnow

MAX_MINUTES = 10080
CHANGE_TYPES = ("created", "updated", "deleted")
LIFECYCLE_EVENTS = ("reauthorizationRequired", "subscriptionRemoved", "missed")
_RESOURCE = re.compile(r"^/?(?:users/(?P<user>[^/]+)|users\('(?P<quser>[^']+)'\)|(?P<me>me))/"
                       r"(?:mailfolders(?:\('(?P<qfolder>[^']+)'\)|/(?P<folder>[^/]+))/)?messages/?$", re.IGNORECASE)


@dataclass
class Subscription:
    id: str
    resource: str
    change_types: tuple[str, ...]
    notification_url: str
    lifecycle_url: str | None
    expiration: dt.datetime
    client_state: str | None
    application_id: str
    creator_id: str
    mailbox: str
    folder_id: str | None  # None: every message of the mailbox
    tls_version: str = "v1_2"

    def json(self, graph_url: str) -> dict[str, Any]:
        return {"@odata.context": f"{graph_url}/$metadata#subscriptions/$entity", "id": self.id,
                "resource": self.resource, "applicationId": self.application_id,
                "changeType": ",".join(self.change_types), "clientState": self.client_state,
                "notificationUrl": self.notification_url, "lifecycleNotificationUrl": self.lifecycle_url,
                "expirationDateTime": iso(self.expiration), "creatorId": self.creator_id,
                "latestSupportedTlsVersion": self.tls_version, "notificationContentType": "application/json"}


@dataclass
class Delivery:
    url: str
    payload: dict[str, Any] = field(repr=False)
    status: int | None  # None: no answer (refused, timed out)


def _post(context: ssl.SSLContext, url: str, body: bytes, content_type: str,
          timeout: float) -> tuple[int | None, str, bytes]:
    parts = urllib.parse.urlsplit(url)
    if parts.scheme != "https" or not parts.hostname:
        return None, "", b""
    connection = http.client.HTTPSConnection(parts.hostname, parts.port or 443, context=context, timeout=timeout)
    try:
        target = parts.path or "/"
        if parts.query:
            target += "?" + parts.query
        connection.request("POST", target, body=body, headers={"Content-Type": content_type})
        response = connection.getresponse()
        return response.status, response.getheader("Content-Type", ""), response.read()
    except (OSError, http.client.HTTPException):
        return None, "", b""
    finally:
        connection.close()


class Subscriptions:
    def __init__(self, lock: threading.RLock, tenant_id: str, context: ssl.SSLContext,
                 mailbox: Callable[[Principal, str], FakeMailbox]) -> None:
        self._lock = lock
        self._tenant_id = tenant_id
        self._context = context
        self._mailbox = mailbox  # (principal, user segment) -> mailbox, raising Graph's errors
        self.items: dict[str, Subscription] = {}
        self.deliveries: list[Delivery] = []
        self.attempts = 3
        self._queue: queue.Queue[tuple[str, dict[str, Any]] | None] = queue.Queue()
        self._worker = threading.Thread(target=self._deliver_loop, name="graph-fake-notifier", daemon=True)
        self._worker.start()

    # -- the API ---------------------------------------------------------------------------------------------
    def _validate_url(self, url: str) -> None:
        if urllib.parse.urlsplit(url).scheme != "https":
            raise bad_request("Subscription validation request failed. The notification URL must use HTTPS.",
                              "InvalidRequest")
        token = secrets.token_urlsafe(24)
        separator = "&" if urllib.parse.urlsplit(url).query else "?"
        status, content_type, body = _post(self._context, f"{url}{separator}validationToken="
                                           f"{urllib.parse.quote(token)}", b"", "text/plain; charset=utf-8", 10.0)
        if status != 200 or not content_type.lower().startswith("text/plain") or body.decode(errors="replace") != token:
            raise bad_request("Subscription validation request failed. Notification endpoint must respond with 200 "
                              "OK to validation request.", "InvalidRequest")

    def _expiry(self, value: Any) -> dt.datetime:
        try:
            moment = dt.datetime.fromisoformat(str(value))
        except ValueError:
            raise bad_request(f"Invalid value for expirationDateTime: '{value}'.", "InvalidRequest") from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=dt.UTC)
        now = utcnow()
        if moment <= now:
            raise bad_request("Subscription expiration must be in the future.", "ExtensionError")
        if moment > now + dt.timedelta(minutes=MAX_MINUTES):
            raise bad_request(f"Subscription expiration can only be {MAX_MINUTES} minutes in the future.",
                              "ExtensionError")
        return moment

    def create(self, principal: Principal, body: dict[str, Any], graph_url: str) -> Reply:
        for name in ("changeType", "notificationUrl", "resource", "expirationDateTime"):
            if not body.get(name):
                raise bad_request(f"Missing required property '{name}'.", "InvalidRequest")
        change_types = tuple(t.strip() for t in str(body["changeType"]).split(","))
        if any(t not in CHANGE_TYPES for t in change_types):
            raise bad_request(f"Invalid changeType '{body['changeType']}'.", "InvalidRequest")
        match = _RESOURCE.match(str(body["resource"]))
        if match is None:
            raise bad_request(f"Unsupported resource '{body['resource']}'.", "InvalidRequest")
        user = "me" if match["me"] else "users/" + urllib.parse.unquote(match["user"] or match["quser"])
        box = self._mailbox(principal, user)
        folder_key = match["qfolder"] or match["folder"]
        folder = box.find_folder(folder_key) if folder_key else None
        if folder_key and folder is None:
            raise GraphError(404, "ErrorItemNotFound", "The specified object was not found in the store.")
        expiry = self._expiry(body["expirationDateTime"])
        self._validate_url(str(body["notificationUrl"]))
        if body.get("lifecycleNotificationUrl"):
            self._validate_url(str(body["lifecycleNotificationUrl"]))
        subscription = Subscription(
            str(uuid.uuid4()), str(body["resource"]), change_types, str(body["notificationUrl"]),
            body.get("lifecycleNotificationUrl"), expiry, body.get("clientState"), principal.app.client_id,
            str(uuid.uuid4()), box.address, folder.id if folder else None,
            str(body.get("latestSupportedTlsVersion") or "v1_2"))
        with self._lock:
            self.items[subscription.id] = subscription
        return json_reply(201, subscription.json(graph_url))

    def _find(self, subscription_id: str) -> Subscription:
        subscription = self.items.get(subscription_id)
        if subscription is None or subscription.expiration <= utcnow():
            raise GraphError(404, "ResourceNotFound", f"The object was not found. Subscription Id: "
                             f"'{subscription_id}'.")
        return subscription

    def get(self, subscription_id: str, graph_url: str) -> Reply:
        return json_reply(200, self._find(subscription_id).json(graph_url))

    def list(self, principal: Principal, graph_url: str) -> Reply:
        mine = [s.json(graph_url) for s in self.items.values() if s.application_id == principal.app.client_id
                and s.expiration > utcnow()]
        return json_reply(200, {"@odata.context": f"{graph_url}/$metadata#subscriptions", "value": mine})

    def renew(self, subscription_id: str, body: dict[str, Any], graph_url: str) -> Reply:
        subscription = self._find(subscription_id)
        if not body.get("expirationDateTime"):
            raise bad_request("Missing required property 'expirationDateTime'.", "InvalidRequest")
        subscription.expiration = self._expiry(body["expirationDateTime"])
        return json_reply(200, subscription.json(graph_url))

    def delete(self, subscription_id: str) -> Reply:
        self._find(subscription_id)
        with self._lock:
            del self.items[subscription_id]
        return empty_reply(204)

    # -- notifying -------------------------------------------------------------------------------------------
    def on_change(self, box: FakeMailbox, change_type: str, message_id: str, folder_id: str) -> None:
        now = utcnow()
        for subscription in list(self.items.values()):
            if (subscription.mailbox != box.address or change_type not in subscription.change_types
                    or subscription.expiration <= now
                    or subscription.folder_id not in (None, folder_id)):
                continue
            message = box.get(message_id)
            resource = f"Users/{box.user_id}@{self._tenant_id}/Messages/{message_id}"
            notification = {
                "id": secrets.token_urlsafe(9), "subscriptionId": subscription.id,
                "subscriptionExpirationDateTime": iso(subscription.expiration),
                "clientState": subscription.client_state, "changeType": change_type,
                "resource": f"users/{box.user_id}@{self._tenant_id}/messages/{message_id}",
                "tenantId": self._tenant_id,
                "resourceData": {"@odata.type": "#Microsoft.Graph.Message", "@odata.id": resource,
                                 "@odata.etag": f'W/"{message.change_key}"' if message else None,
                                 "id": message_id}}
            self._queue.put((subscription.notification_url, {"value": [notification]}))

    def lifecycle(self, subscription_id: str, event: str) -> int | None:
        """POST a lifecycle notification now; returns the receiver's status (None: no answer)."""
        if event not in LIFECYCLE_EVENTS:
            raise ValueError(f"lifecycle event must be one of {LIFECYCLE_EVENTS}")
        with self._lock:
            subscription = self.items[subscription_id]
            if not subscription.lifecycle_url:
                raise ValueError("Graph sends lifecycle notifications only to a lifecycleNotificationUrl, and this "
                                 "subscription has none")
            if event == "subscriptionRemoved":
                del self.items[subscription_id]
        payload = {"value": [{"subscriptionId": subscription.id,
                              "subscriptionExpirationDateTime": iso(subscription.expiration),
                              "tenantId": self._tenant_id, "clientState": subscription.client_state,
                              "lifecycleEvent": event}]}
        return self._send(subscription.lifecycle_url, payload)

    def _send(self, url: str, payload: dict[str, Any]) -> int | None:
        status = None
        for attempt in range(self.attempts):
            status, _, _ = _post(self._context, url, json.dumps(payload).encode(), "application/json", 3.0)
            if status is not None and 200 <= status < 300:
                break
            if attempt + 1 < self.attempts:
                time.sleep(0.2 * (attempt + 1))  # Graph retries failed deliveries, backing off
        with self._lock:
            self.deliveries.append(Delivery(url, payload, status))
        return status

    def _deliver_loop(self) -> None:
        while True:
            item = self._queue.get()
            try:
                if item is None:
                    return
                self._send(*item)
            finally:
                self._queue.task_done()

    def drain(self, timeout: float = 10.0) -> bool:
        """Wait until every queued notification was delivered (or given up); False on timeout."""
        deadline = time.monotonic() + timeout
        while self._queue.unfinished_tasks:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.01)
        return True

    def close(self) -> None:
        self._queue.put(None)
        self._worker.join(timeout=10)
