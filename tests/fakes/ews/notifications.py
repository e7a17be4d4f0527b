"""Streaming notifications of the fake EWS server: Subscribe (StreamingSubscriptionRequest), GetStreamingEvents and
Unsubscribe, as in Microsoft's "Stream notifications about mailbox events by using EWS" and the samples in
/work/shared/exchange-samples/ews/{Subscribe,GetStreamingEvents}.

A subscription names folders and event types; a mailbox change (mailbox.py reports each as a `MailboxEvent`) is
queued on every subscription that wants it, whether a connection is open or not, as Exchange keeps a subscription's
events until it is read. GetStreamingEvents answers HTTP 200 with a chunked body that stays open: each batch of
events is one whole SOAP envelope (a GetStreamingEventsResponseMessage with ConnectionStatus OK and its
Notifications), and after ConnectionTimeout minutes a last one with ConnectionStatus Closed ends the body. An
unknown subscription id is answered at once with one envelope: ResponseClass Error, ErrorSubscriptionNotFound, its
id in ErrorSubscriptionIds and ConnectionStatus Closed.

The test's switches (on EwsFake): `minute`, the seconds a ConnectionTimeout minute lasts (60 on a real server;
a test shortens it so that a connection's end comes within seconds); `refuse_streaming(code)`, as a server without
streaming (Exchange 2010 RTM, or one that has them disabled) answers Subscribe; `lose_subscriptions()`, as a
mailbox server restart or a mailbox move loses them: open connections end (Closed) and the ids are unknown from
then on."""

import datetime as dt
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field

from tests.fakes.ews.folders import Call, ItemError, resolve_folder
from tests.fakes.ews.mailbox import MailboxEvent
from tests.fakes.ews.soap import Node, error, m, operation_response, schema_error, success, t, text_of

EVENT_TYPES = frozenset(
    {
        "CopiedEvent",
        "CreatedEvent",
        "DeletedEvent",
        "ModifiedEvent",
        "MovedEvent",
        "NewMailEvent",
        "FreeBusyChangedEvent",
    }
)
NOT_FOUND = "The specified subscription was not found."


@dataclass
class FakeSubscription:
    id: str
    address: str
    folder_ids: frozenset[str]
    event_types: frozenset[str]
    pending: list[MailboxEvent] = field(default_factory=list)

    def wants(self, event: MailboxEvent) -> bool:
        folders = {event.folder_id, event.old_folder_id}
        return event.kind in self.event_types and bool(folders & self.folder_ids)


class Subscriptions:
    """The server's streaming subscriptions. Shares the fake's lock; `changed` wakes the open connections."""

    def __init__(self, lock: threading.RLock) -> None:
        self.changed = threading.Condition(lock)
        self.by_id: dict[str, FakeSubscription] = {}
        self.minute = 60.0
        self.refusal: str | None = None
        self.closing = False
        self.connections = 0  # GetStreamingEvents connections open now
        self._epoch = 0  # raised by `lose`: the connections opened before end

    # -- the mailboxes' side ---------------------------------------------------------------------------------
    def publish(self, address: str, event: MailboxEvent) -> None:
        with self.changed:
            for subscription in self.by_id.values():
                if subscription.address == address.lower() and subscription.wants(event):
                    subscription.pending.append(event)
            self.changed.notify_all()

    # -- the test's side -------------------------------------------------------------------------------------
    def lose(self, address: str | None = None) -> None:
        with self.changed:
            for key in [k for k, s in self.by_id.items() if address is None or s.address == address.lower()]:
                del self.by_id[key]
            self._epoch += 1
            self.changed.notify_all()

    def close(self) -> None:
        """The server stops: every open connection ends with ConnectionStatus Closed."""
        with self.changed:
            self.closing = True
            self.changed.notify_all()

    # -- the operations --------------------------------------------------------------------------------------
    def subscribe(self, call: Call) -> bytes:
        request = call.request.body.find(m("StreamingSubscriptionRequest"))
        if request is None:
            # Pull and push subscriptions exist in EWS; the CRM uses neither, and the fake does not offer them.
            return operation_response(
                "Subscribe",
                [error("Subscribe", "ErrorInvalidRequest", "The fake EWS server offers streaming subscriptions only.")],
            )
        if self.refusal == "ErrorSchemaValidation":
            # A server older than Exchange 2010 SP1 does not know the element: the request fails its schema.
            raise schema_error("The element 'StreamingSubscriptionRequest' is invalid")
        if self.refusal is not None:
            return operation_response("Subscribe", [error("Subscribe", self.refusal, "The request is invalid.")])
        ids = request.find(t("FolderIds"))
        kinds = {text_of(e) for e in request.iterfind(f"{t('EventTypes')}/{t('EventType')}")}
        if ids is None or len(ids) == 0 or not kinds:
            raise schema_error("StreamingSubscriptionRequest needs FolderIds and EventTypes")
        if kinds - EVENT_TYPES:
            raise schema_error(f"unknown event types {sorted(kinds - EVENT_TYPES)}")
        try:
            folders = frozenset(resolve_folder(call, element).id for element in ids)
        except ItemError as exc:
            return operation_response("Subscribe", [error("Subscribe", exc.code, exc.text)])
        subscription = FakeSubscription(_subscription_id(), call.box.address.lower(), folders, frozenset(kinds))
        self.by_id[subscription.id] = subscription
        return operation_response("Subscribe", [success("Subscribe", Node("m:SubscriptionId", subscription.id))])

    def unsubscribe(self, call: Call) -> bytes:
        subscription_id = text_of(call.request.body.find(m("SubscriptionId")))
        if self.by_id.pop(subscription_id, None) is None:
            return operation_response("Unsubscribe", [error("Unsubscribe", "ErrorSubscriptionNotFound", NOT_FOUND)])
        self.changed.notify_all()
        return operation_response("Unsubscribe", [success("Unsubscribe")])

    def get_streaming_events(self, call: Call) -> "bytes | Iterator[bytes]":
        ids = [text_of(e) for e in call.request.body.iterfind(f"{m('SubscriptionIds')}/{t('SubscriptionId')}")]
        try:
            minutes = int(text_of(call.request.body.find(m("ConnectionTimeout"))))
        except ValueError:
            raise schema_error("ConnectionTimeout must be an integer") from None
        if not ids or not 1 <= minutes <= 30:
            raise schema_error("GetStreamingEvents needs subscription ids and a ConnectionTimeout of 1 to 30")
        unknown = [i for i in ids if i not in self.by_id or self.by_id[i].address != call.box.address.lower()]
        if unknown:
            message = error("GetStreamingEvents", "ErrorSubscriptionNotFound", NOT_FOUND)
            listed = message.child("m:ErrorSubscriptionIds")
            for subscription_id in unknown:
                listed.child("m:SubscriptionId", subscription_id)
            message.child("m:ConnectionStatus", "Closed")
            return operation_response("GetStreamingEvents", [message])
        return self._stream(ids, time.monotonic() + minutes * self.minute)

    def _stream(self, ids: list[str], deadline: float) -> Iterator[bytes]:
        """The chunks of one connection, each a whole envelope; run by the connection's thread, outside the lock
        except while it looks at the subscriptions."""
        with self.changed:
            epoch = self._epoch
            self.connections += 1
        try:
            while True:
                with self.changed:
                    while True:
                        ended = self.closing or self._epoch != epoch or any(i not in self.by_id for i in ids)
                        events = [] if ended else [(i, self.by_id[i].pending) for i in ids if self.by_id[i].pending]
                        left = deadline - time.monotonic()
                        if ended or events or left <= 0:
                            break
                        self.changed.wait(left)
                    for subscription_id, _ in events:
                        self.by_id[subscription_id].pending = []
                if events:
                    yield _events_envelope(events)
                if ended or left <= 0:
                    yield operation_response("GetStreamingEvents", [_status("Closed")])
                    return
        finally:
            with self.changed:
                self.connections -= 1


def _subscription_id() -> str:
    return uuid.uuid4().hex + uuid.uuid4().hex[:8]  # opaque; Exchange's are base64 of a server name and a GUID


def _status(status: str) -> Node:
    message = success("GetStreamingEvents")
    message.child("m:ConnectionStatus", status)
    return message


def _time(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _event_node(event: MailboxEvent) -> Node:
    node = Node(f"t:{event.kind}")
    node.child("t:TimeStamp", _time(event.at))
    node.child("t:ItemId", Id=event.item_id, ChangeKey="CQAAAA==")
    node.child("t:ParentFolderId", Id=event.folder_id, ChangeKey="AQAAAA==")
    if event.old_item_id is not None:
        node.child("t:OldItemId", Id=event.old_item_id, ChangeKey="CQAAAA==")
    if event.old_folder_id is not None:
        node.child("t:OldParentFolderId", Id=event.old_folder_id, ChangeKey="AQAAAA==")
    return node


def _events_envelope(events: list[tuple[str, list[MailboxEvent]]]) -> bytes:
    message = success("GetStreamingEvents")
    notifications = message.child("m:Notifications")
    for subscription_id, pending in events:
        notification = notifications.child("m:Notification")
        notification.child("t:SubscriptionId", subscription_id)
        notification.add(*(_event_node(e) for e in pending))
    message.child("m:ConnectionStatus", "OK")
    return operation_response("GetStreamingEvents", [message])
