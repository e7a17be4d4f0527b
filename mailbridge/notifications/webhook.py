"""What Graph's notifications mean to us, once router.py has read them.

A change notification payload is `{"value": [item, ...]}`, each item naming its subscriptionId and carrying
the clientState we gave that subscription. An item counts only when its clientState matches the stored digest
of the subscription it names; then its mailbox is marked "sync requested" and nothing more: the item's
resource, message id and change type are not trusted for anything (anyone can POST to the webhook), and mail
is only ever tracked by the delta sync, which finds the change itself. Items that do not count are ignored and
counted, never answered differently (so the endpoint tells a prober nothing).

A lifecycle payload has the same authentication and a lifecycleEvent:
- reauthorizationRequired: Graph wants the subscription renewed before it ends it -> renew now;
- subscriptionRemoved: Graph ended it -> make a new one, and sync (changes meanwhile were not notified);
- missed: Graph could not deliver some notifications -> sync.
The sync request is written at once; renewing and making a subscription talk to Graph, which validates our
endpoints meanwhile, so `apply_lifecycle` runs after the answer (router.py hands it to a background task)."""

import logging
import ssl
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from crm_core.db.unit_of_work import UnitOfWork
from crm_core.errors import CrmError
from mailbridge.notifications import store
from mailbridge.notifications.subscriptions import create_again, renew_now

log = logging.getLogger(__name__)

LIFECYCLE_EVENTS = ("reauthorizationRequired", "subscriptionRemoved", "missed")


@dataclass
class NotificationOutcome:
    accepted: int = 0
    ignored: int = 0  # unknown subscription, wrong or missing clientState, not an item at all
    mailboxes: set[uuid.UUID] = field(default_factory=set)  # marked "sync requested"


@dataclass
class LifecycleOutcome:
    accepted: int = 0
    ignored: int = 0
    renew: list[str] = field(default_factory=list)  # subscription ids to renew now
    recreate: list[str] = field(default_factory=list)  # subscription ids Graph removed
    mailboxes: set[uuid.UUID] = field(default_factory=set)  # marked "sync requested"

    @property
    def graph_work(self) -> bool:
        return bool(self.renew or self.recreate)


def _items(payload: Any) -> Iterator[dict[str, Any] | None]:
    """Each item of the payload's `value`; None for one that is not even an object."""
    values = payload.get("value") if isinstance(payload, dict) else None
    for item in values if isinstance(values, list) else []:
        yield item if isinstance(item, dict) else None


def _claim(item: dict[str, Any] | None) -> tuple[str, str] | None:
    """The (subscriptionId, clientState) an item claims; None when it lacks either."""
    if item is None:
        return None
    subscription_id, client_state = item.get("subscriptionId"), item.get("clientState")
    if not isinstance(subscription_id, str) or not isinstance(client_state, str) or not client_state:
        return None
    return subscription_id, client_state


def _authentic(session: Session, items: list[dict[str, Any] | None]) -> list[store.StoredSubscription | None]:
    """For each item, the stored subscription it authenticates as, or None."""
    claims = [_claim(item) for item in items]
    found = store.authentic(session, [c for c in claims if c is not None])
    return [found.get(claim[0]) if claim is not None else None for claim in claims]


def handle_notifications(session_factory: sessionmaker[Session], payload: Any,
                         now: datetime | None = None) -> NotificationOutcome:
    """Marks the mailboxes of the authentic items "sync requested"; counts the others."""
    outcome = NotificationOutcome()
    items = list(_items(payload))
    with UnitOfWork(session_factory) as uow:
        for stored in _authentic(uow.session, items):
            if stored is None:
                outcome.ignored += 1
                continue
            outcome.accepted += 1
            outcome.mailboxes.add(stored.mailbox_id)
        store.request_sync(uow.session, outcome.mailboxes, now)
        uow.commit()
    if outcome.ignored:
        log.warning("Graph notifications: %d of %d item(s) ignored (unknown subscription or wrong clientState)",
                    outcome.ignored, len(items))
    return outcome


def lifecycle_actions(session_factory: sessionmaker[Session], payload: Any,
                      now: datetime | None = None) -> LifecycleOutcome:
    """The authentic lifecycle items: sync requests written now; renewals and re-creations listed for
    `apply_lifecycle`."""
    outcome = LifecycleOutcome()
    items = list(_items(payload))
    with UnitOfWork(session_factory) as uow:
        for item, stored in zip(items, _authentic(uow.session, items), strict=True):
            event = item.get("lifecycleEvent") if item is not None else None
            if stored is None or event not in LIFECYCLE_EVENTS:
                outcome.ignored += 1
                continue
            outcome.accepted += 1
            if event == "reauthorizationRequired":
                outcome.renew.append(stored.subscription_id)
            elif event == "subscriptionRemoved":
                outcome.recreate.append(stored.subscription_id)
                outcome.mailboxes.add(stored.mailbox_id)
            else:  # missed
                outcome.mailboxes.add(stored.mailbox_id)
        store.request_sync(uow.session, outcome.mailboxes, now)
        uow.commit()
    if outcome.ignored:
        log.warning("Graph lifecycle notifications: %d of %d item(s) ignored (unknown subscription, wrong "
                    "clientState or unknown event)", outcome.ignored, len(items))
    return outcome


def apply_lifecycle(session_factory: sessionmaker[Session], outcome: LifecycleOutcome, public_url: str | None,
                    ssl_context: ssl.SSLContext | None = None) -> dict[str, str]:
    """Renews and makes again what `lifecycle_actions` listed; what was done, by subscription id. A failure is
    logged and left to the worker's next `ensure_subscriptions`, which repairs whatever this could not."""
    done: dict[str, str] = {}
    work = [(s, renew_now) for s in outcome.renew] + [(s, create_again) for s in outcome.recreate]
    for subscription_id, action in work:
        try:
            done[subscription_id] = action(session_factory, subscription_id, public_url, ssl_context)
        except CrmError as exc:  # mailbridge's errors, and a mailbox gone meanwhile
            done[subscription_id] = f"failed: {exc.detail}"
            log.warning("Graph subscription %s: %s failed: %s", subscription_id, action.__name__, exc.detail)
    return done
