"""The database side of Graph change notifications: the subscriptions we hold (crm_core's GraphSubscription),
finding the one a notification names and checking its clientState, and a mailbox's "sync requested" mark.

Each function opens its own short transaction, or works in the caller's session where it takes one; none
waits on Graph inside a transaction. The mark on the mailbox is written with a plain UPDATE: it is a machine's
signal, not an edit of the record, so it neither goes to the audit trail nor moves the mailbox's modified_on."""

import uuid
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from crm_core.db.types import utcnow
from crm_core.db.unit_of_work import UnitOfWork
from crm_core.models import EmailServerProfile, Mailbox
from crm_core.models.graph_subscriptions import GraphSubscription, client_state_digest


@dataclass(frozen=True)
class StoredSubscription:
    subscription_id: str
    mailbox_id: uuid.UUID
    folder: str
    expires_on: datetime


@dataclass(frozen=True)
class NewSubscription:
    """What Graph answered to a subscription request, with the secret we gave it (never stored as such)."""

    subscription_id: str
    expires_on: datetime
    client_state: str


@dataclass(frozen=True)
class SyncRequest:
    mailbox_id: uuid.UUID
    requested_on: datetime


def _stored(row: GraphSubscription) -> StoredSubscription:
    return StoredSubscription(row.subscription_id, row.mailbox_id, row.folder, row.expires_on)


# --- subscriptions ---------------------------------------------------------------------------------
def subscriptions_of(session: Session, mailbox_id: uuid.UUID) -> dict[str, StoredSubscription]:
    """The mailbox's subscriptions by folder name."""
    rows = session.scalars(select(GraphSubscription).where(GraphSubscription.mailbox_id == mailbox_id))
    return {row.folder: _stored(row) for row in rows}


def subscription(session: Session, subscription_id: str) -> StoredSubscription | None:
    row = session.scalar(select(GraphSubscription).where(GraphSubscription.subscription_id == subscription_id))
    return _stored(row) if row is not None else None


def save(session_factory: sessionmaker[Session], mailbox_id: uuid.UUID, folder: str, new: NewSubscription,
         replacing: str | None = None) -> bool:
    """Stores a new subscription for the folder: a new row, or the row of `replacing` (the subscription Graph no
    longer knows) taking its place. False when another worker stored one for the folder first (or replaced
    `replacing` already): the caller deletes the one it made, so that Graph keeps one per folder."""
    with UnitOfWork(session_factory) as uow:
        if replacing is not None:
            row = uow.session.scalar(select(GraphSubscription).where(GraphSubscription.subscription_id == replacing))
            if row is None:
                return False
        else:
            row = GraphSubscription(mailbox_id=mailbox_id, folder=folder)
            uow.session.add(row)
        row.subscription_id = new.subscription_id
        row.client_state_sha256 = client_state_digest(new.client_state)
        row.expires_on = new.expires_on
        row.created_on = utcnow()
        try:
            uow.commit()
        except IntegrityError:
            return False
    return True


def renewed(session_factory: sessionmaker[Session], subscription_id: str, expires_on: datetime) -> None:
    with UnitOfWork(session_factory) as uow:
        uow.session.execute(update(GraphSubscription).where(GraphSubscription.subscription_id == subscription_id)
                            .values(expires_on=expires_on))
        uow.commit()


def forget(session_factory: sessionmaker[Session], subscription_id: str) -> None:
    with UnitOfWork(session_factory) as uow:
        uow.session.execute(delete(GraphSubscription).where(GraphSubscription.subscription_id == subscription_id))
        uow.commit()


def authentic(session: Session, claims: Iterable[tuple[str, str]]) -> dict[str, StoredSubscription]:
    """Of the (subscriptionId, clientState) pairs a payload claims, those whose clientState is the stored
    subscription's (digests compared in constant time), by subscription id. Nothing else of a payload counts."""
    pairs = list(claims)
    ids = {subscription_id for subscription_id, _ in pairs}
    if not ids:
        return {}
    rows = {row.subscription_id: row for row in session.scalars(
        select(GraphSubscription).where(GraphSubscription.subscription_id.in_(ids)))}
    out: dict[str, StoredSubscription] = {}
    for subscription_id, client_state in pairs:
        row = rows.get(subscription_id)
        if row is not None and row.client_state_matches(client_state):
            out[subscription_id] = _stored(row)
    return out


# --- mailboxes -------------------------------------------------------------------------------------
def graph_mailboxes(session_factory: sessionmaker[Session]) -> list[uuid.UUID]:
    """The approved Graph mailboxes with incoming sync on: those a worker keeps subscriptions for."""
    with UnitOfWork(session_factory) as uow:
        return list(uow.session.scalars(
            select(Mailbox.id).join(EmailServerProfile, Mailbox.server_profile_id == EmailServerProfile.id)
            .where(EmailServerProfile.incoming_protocol == "graph", Mailbox.approval_status == "approved",
                   Mailbox.incoming_enabled.is_(True)).order_by(Mailbox.id)))


def request_sync(session: Session, mailbox_ids: Collection[uuid.UUID], now: datetime | None = None) -> None:
    """Marks the mailboxes as asking for a sync sooner, at `now` (the latest request wins: a sync that started
    before it clears nothing, see `sync_request_served`). The caller commits."""
    if not mailbox_ids:
        return
    session.execute(update(Mailbox).where(Mailbox.id.in_(list(mailbox_ids)))
                    .values(sync_requested_on=now or utcnow(), modified_on=Mailbox.modified_on)
                    .execution_options(synchronize_session=False))


def requested_syncs(session_factory: sessionmaker[Session]) -> list[SyncRequest]:
    """The mailboxes a notification asked to sync, the longest waiting first."""
    with UnitOfWork(session_factory) as uow:
        rows = uow.session.execute(select(Mailbox.id, Mailbox.sync_requested_on)
                                   .where(Mailbox.sync_requested_on.is_not(None))
                                   .order_by(Mailbox.sync_requested_on, Mailbox.id))
        return [SyncRequest(mailbox_id, requested_on) for mailbox_id, requested_on in rows if requested_on]


def sync_request_served(session_factory: sessionmaker[Session], mailbox_id: uuid.UUID, started_on: datetime) -> bool:
    """Clears the mark after a sync that started at `started_on`; a request that came later stays, since that
    sync may have missed what it was about. True when cleared."""
    with UnitOfWork(session_factory) as uow:
        result = uow.session.execute(
            update(Mailbox).where(Mailbox.id == mailbox_id, Mailbox.sync_requested_on <= started_on)
            .values(sync_requested_on=None, modified_on=Mailbox.modified_on)
            .execution_options(synchronize_session=False))
        uow.commit()
        return bool(getattr(result, "rowcount", 0))
