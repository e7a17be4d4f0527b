"""Webhooks (administrators and customizers only: the `webhook` privileges): a URL subscribed to events, with
the secret its deliveries are signed with, sealed at rest. The URL is checked by crm_core.network_guard when
saved (a 422 naming `url`) and again at each delivery. The deliveries and their attempts are read here; the
workers deliver them (crm_core.services.webhook_delivery)."""

import secrets as token_source
import uuid
from typing import Any, ClassVar

from sqlalchemy import select

from crm_core import network_guard
from crm_core.db.types import utcnow
from crm_core.db.unit_of_work import UnitOfWork
from crm_core.entities import entity
from crm_core.errors import NotFound, ValidationFailed
from crm_core.models import Webhook, WebhookDelivery
from crm_core.security.principal import Principal
from crm_core.security.privileges import Privilege
from crm_core.security.secrets import keyring_of, reveal
from crm_core.services.records import OwnerRef, RecordService
from crm_core.services.webhook_delivery import Policy, secret_context
from crm_core.webhook_events import EVENT_TYPES, TEST_EVENT, payload

MIN_SECRET_LENGTH = 16


class WebhookService(RecordService[Webhook]):
    entity_name = "webhook"
    sortable: ClassVar[set[str]] = {"created_on", "modified_on", "name"}

    def __init__(self, uow: UnitOfWork, principal: Principal, policy: Policy) -> None:
        super().__init__(uow, principal)
        self.policy = policy
        self.new_secret: str | None = None  # a secret made or set by this call: shown once, in its answer

    def create(self, values: dict[str, Any], owner: OwnerRef | None = None) -> Webhook:
        values = dict(values)
        if values.get("secret") is None:
            values["secret"] = token_source.token_urlsafe(32)  # as Stripe's whsec_: made for the admin
        return super().create(values, owner)

    def apply(self, record: Webhook, values: dict[str, Any], creating: bool) -> None:
        values = dict(values)
        secret = reveal(values.pop("secret", None))
        super().apply(record, values, creating)
        if secret is not None:
            if len(secret) < MIN_SECRET_LENGTH:
                raise ValidationFailed.field("secret", f"at least {MIN_SECRET_LENGTH} characters")
            record.secret_secret = keyring_of(self.session).seal(secret, secret_context(record.id))
            self.new_secret = secret

    def validate(self, record: Webhook, values: dict[str, Any], creating: bool) -> None:
        record.name = (record.name or "").strip()
        if not record.name:
            raise ValidationFailed.field("name", "a webhook needs a name")
        if "url" in values or creating:
            network_guard.check_url(record.url or "", self.policy.allow, "url")
        events = list(dict.fromkeys(record.events or []))
        if not events:
            raise ValidationFailed.field("events", f"subscribe to at least one of {', '.join(EVENT_TYPES)}")
        for name in events:
            if name not in EVENT_TYPES:
                raise ValidationFailed.field("events", f"{name!r} is not one of {', '.join(EVENT_TYPES)}")
        record.events = events
        for name in record.entities or []:
            try:
                entity(name)
            except ValidationFailed:
                raise ValidationFailed.field("entities", f"{name!r} is not an entity") from None
        record.entities = list(dict.fromkeys(record.entities or []))

    def rotate_secret(self, record_id: uuid.UUID) -> Webhook:
        """A new signing secret (the old one stops signing at once); shown once in the answer."""
        record = self.get(record_id, Privilege.WRITE)
        self.uow.set_action("rotate_secret")
        self.apply(record, {"secret": token_source.token_urlsafe(32)}, creating=False)
        self.session.flush()
        self.uow.commit()
        return record

    # --- deliveries --------------------------------------------------------------------------------
    def deliveries(self, record_id: uuid.UUID, status: str | None, limit: int) -> list[WebhookDelivery]:
        """The webhook's deliveries, newest first, each with its attempts."""
        self.get(record_id)
        stmt = select(WebhookDelivery).where(WebhookDelivery.webhook_id == record_id)
        if status is not None:
            stmt = stmt.where(WebhookDelivery.status == status)
        stmt = stmt.order_by(WebhookDelivery.created_on.desc(), WebhookDelivery.id).limit(limit)
        return list(self.session.scalars(stmt))

    def queue_test(self, record_id: uuid.UUID) -> uuid.UUID:
        """A "webhook.test" delivery for this webhook, left to the caller to attempt at once (claimed for the
        lease, so that the workers do not post it at the same time)."""
        record = self.get(record_id, Privilege.WRITE)
        now, event_id = utcnow(), uuid.uuid4()
        body = payload(event_id, TEST_EVENT, now, "webhook", record.id, "test", self.principal.user_id, {})
        delivery = WebhookDelivery(
            id=uuid.uuid4(),
            webhook_id=record.id,
            event_id=event_id,
            event_type=TEST_EVENT,
            entity="webhook",
            record_id=record.id,
            payload=body,
            status="pending",
            attempt_count=0,
            next_attempt_at=now + self.policy.lease,
            created_on=now,
        )
        self.session.add(delivery)
        self.session.flush()
        self.uow.commit()
        return delivery.id

    def delivery(self, record_id: uuid.UUID, delivery_id: uuid.UUID) -> WebhookDelivery:
        self.get(record_id)
        self.session.expire_all()  # attempted by another session since
        found = self.session.get(WebhookDelivery, delivery_id)
        if found is None or found.webhook_id != record_id:
            raise NotFound(f"no delivery {delivery_id} of this webhook")
        return found
