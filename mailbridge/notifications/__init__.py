"""Microsoft Graph change notifications as a trigger for the mail sync, never its source of truth.

`subscriptions` keeps one Graph subscription per synced folder of a Graph mailbox (made, renewed before expiry,
made again when Graph dropped it); `webhook` turns Graph's notifications into "sync this mailbox sooner"
(sync_requested_on) and acts on lifecycle events; `router` is the two HTTPS endpoints Graph calls; `store` is
the database side. A worker calls `ensure_subscriptions` for each Graph mailbox periodically and syncs the
mailboxes `requested_syncs` lists (docs/graph-notifications.md)."""

from mailbridge.notifications.store import SyncRequest, graph_mailboxes, requested_syncs, sync_request_served
from mailbridge.notifications.subscriptions import SubscriptionSummary, ensure_subscriptions
from mailbridge.notifications.webhook import apply_lifecycle, handle_notifications, lifecycle_actions

__all__ = ["SubscriptionSummary", "SyncRequest", "apply_lifecycle", "ensure_subscriptions", "graph_mailboxes",
           "handle_notifications", "lifecycle_actions", "requested_syncs", "sync_request_served"]
