"""Microsoft Graph change-notification subscriptions of a mailbox: one per synced folder, so that Graph tells us
soon after mail arrives and the mailbox is synced sooner (mailbridge.notifications). A notification is only a
trigger: the delta sync stays the source of truth, and these rows can be lost and made again at no cost.

The subscription's clientState is the shared secret that authenticates Graph's notifications (the webhook
routes cannot take a bearer token); it is kept only as its SHA-256, so a copy of the database cannot forge a
notification, and compared digest to digest in constant time."""

import hashlib
import hmac
import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from crm_core.db.base import Base
from crm_core.db.types import utcnow


def client_state_digest(client_state: str) -> str:
    """The SHA-256 of a clientState, hex: what is stored and compared."""
    return hashlib.sha256(client_state.encode("utf-8")).hexdigest()


class GraphSubscription(Base):
    """Graph's subscription to the messages of one folder of a mailbox (the folder by the name the sync uses),
    with the digest of its clientState and when Graph will end it unless renewed."""

    __tablename__ = "graph_subscriptions"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    mailbox_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("mailboxes.id", ondelete="CASCADE"), index=True)
    folder: Mapped[str] = mapped_column(String(500))
    subscription_id: Mapped[str] = mapped_column(String(100), unique=True)  # Graph's id (a GUID)
    client_state_sha256: Mapped[str] = mapped_column(String(64))
    expires_on: Mapped[datetime]
    created_on: Mapped[datetime] = mapped_column(default=utcnow)

    # One subscription per folder: a second worker racing to subscribe the same folder fails here.
    __table_args__ = (UniqueConstraint("mailbox_id", "folder", name="uq_graph_subscriptions_folder"),)

    def client_state_matches(self, client_state: str) -> bool:
        """Whether a notification's clientState is this subscription's, in constant time."""
        return hmac.compare_digest(client_state_digest(client_state), self.client_state_sha256)
