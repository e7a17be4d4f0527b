"""Delivering the webhook outbox: the workers call `deliver_due` (workers.tasks.deliver_webhooks).

Each due delivery is claimed (its next attempt pushed past the time an attempt can take, under FOR UPDATE SKIP
LOCKED on PostgreSQL, so two workers never post it at once; a worker that dies leaves it to be taken again),
then POSTed outside any transaction, signed (crm_core.webhook_signatures), to the address that
crm_core.network_guard checked right before, without following redirects. Every attempt is logged with its
status, duration and the first bytes of the answer.

A 2xx delivers. A network error, a 5xx, a 408 or a 429 is tried again: after the server's Retry-After if it
gave one, else after an exponential back-off (base x 2^(attempt-1), capped) with jitter, until the last
attempt, which fails the delivery. Anything else (a 3xx, a 4xx, an address now refused) fails it at once:
sending the same request again would get the same answer."""

import email.utils
import json
import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit, urlunsplit

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from crm_core import network_guard, webhook_signatures
from crm_core.db.types import utcnow
from crm_core.db.unit_of_work import UnitOfWork
from crm_core.errors import CrmError
from crm_core.models import Webhook, WebhookAttempt, WebhookDelivery
from crm_core.security.secrets import keyring_of
from crm_core.settings import Settings

EXCERPT_BYTES = 1000
USER_AGENT = "CRM-Webhooks/1"
_RETRIED_STATUSES = frozenset({408, 429})


def secret_context(webhook_id: uuid.UUID) -> str:
    return f"webhook:{webhook_id}:secret"


@dataclass(frozen=True)
class Policy:
    max_attempts: int
    base_seconds: float
    max_seconds: float
    timeout_seconds: float
    allow: tuple[network_guard.IpNetwork, ...]

    @classmethod
    def from_settings(cls, settings: Settings) -> "Policy":
        return cls(
            settings.webhook_max_attempts,
            settings.webhook_backoff_base_seconds,
            settings.webhook_backoff_max_seconds,
            settings.webhook_timeout_seconds,
            network_guard.parse_allow(settings.outbound_allow),
        )

    @property
    def lease(self) -> timedelta:
        """How long a claimed delivery is left alone: longer than any attempt takes."""
        return timedelta(seconds=self.timeout_seconds * 2 + 60)


@dataclass(frozen=True)
class Outcome:
    status_code: int | None  # None: no HTTP answer
    duration_ms: int
    error: str | None = None
    excerpt: str | None = None
    retry_after: float | None = None  # seconds, from the answer's Retry-After
    permanent: bool = False  # no point trying again (an address now refused)

    @property
    def delivered(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300

    @property
    def retriable(self) -> bool:
        if self.permanent:
            return False
        code = self.status_code
        return code is None or code >= 500 or code in _RETRIED_STATUSES


Poster = Callable[[str, bytes, dict[str, str], Policy], Outcome]


def retry_after_seconds(value: str | None, now: datetime) -> float | None:
    """Retry-After as seconds from now: delay-seconds or an HTTP date (RFC 9110 §10.2.3); None if absent/bad."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


def next_delay(attempt: int, policy: Policy, retry_after: float | None, rng: random.Random | None = None) -> float:
    """Seconds until the attempt after `attempt` (1-based): the server's wish if it said, else "equal jitter"
    back-off: half the exponential delay, plus a random part of the other half (workers do not stampede)."""
    if retry_after is not None:
        return min(max(retry_after, 0.0), policy.max_seconds)
    delay = min(policy.max_seconds, policy.base_seconds * 2 ** (attempt - 1))
    return delay / 2 + (rng or random).uniform(0, delay / 2)


def http_post(url: str, body: bytes, headers: dict[str, str], policy: Policy) -> Outcome:
    """POSTs to the address that the guard checks now (DNS may have changed since the URL was saved), keeping
    the URL's host for Host and TLS (SNI, certificate); redirects are answers, not followed."""
    started = time.monotonic()
    try:
        target = network_guard.check_url(url, policy.allow)
    except network_guard.OutboundRefused as exc:
        return Outcome(None, 0, error=f"refused: {exc.detail}", permanent=True)
    parts = urlsplit(url)
    address = f"[{target.address}]" if ":" in target.address else target.address
    host = f"[{target.host}]" if ":" in target.host else target.host
    default_port = (target.scheme, target.port) in (("http", 80), ("https", 443))
    connect_url = urlunsplit((target.scheme, f"{address}:{target.port}", parts.path or "/", parts.query, ""))
    headers = {**headers, "Host": host if default_port else f"{host}:{target.port}"}
    extensions = {"sni_hostname": target.host} if target.scheme == "https" else {}
    try:
        with (
            httpx.Client(timeout=policy.timeout_seconds, follow_redirects=False, trust_env=False) as client,
            client.stream("POST", connect_url, content=body, headers=headers, extensions=extensions) as answer,
        ):
            excerpt = b""
            for chunk in answer.iter_bytes():
                excerpt += chunk
                if len(excerpt) >= EXCERPT_BYTES:
                    break
            elapsed = int((time.monotonic() - started) * 1000)
            return Outcome(
                answer.status_code,
                elapsed,
                excerpt=excerpt[:EXCERPT_BYTES].decode("utf-8", "replace") or None,
                retry_after=retry_after_seconds(answer.headers.get("retry-after"), utcnow()),
            )
    except httpx.HTTPError as exc:
        elapsed = int((time.monotonic() - started) * 1000)
        return Outcome(None, elapsed, error=f"{type(exc).__name__}: {exc}"[:500])


def deliver_due(
    factory: sessionmaker[Session],
    settings: Settings,
    now: datetime | None = None,
    limit: int = 50,
    post: Poster = http_post,
) -> int:
    """Claims up to `limit` due deliveries of enabled webhooks and attempts each; returns how many."""
    policy = Policy.from_settings(settings)
    now = now or utcnow()
    with UnitOfWork(factory) as uow:
        stmt = (
            select(WebhookDelivery)
            .join(Webhook, Webhook.id == WebhookDelivery.webhook_id)
            .where(
                WebhookDelivery.status == "pending",
                WebhookDelivery.next_attempt_at <= now,
                Webhook.is_enabled.is_(True),
            )
            .order_by(WebhookDelivery.next_attempt_at)
            .limit(limit)
        )
        if uow.session.get_bind().dialect.name == "postgresql":
            stmt = stmt.with_for_update(of=WebhookDelivery, skip_locked=True)
        claimed = list(uow.session.scalars(stmt))
        for delivery in claimed:
            delivery.next_attempt_at = now + policy.lease
        ids = [d.id for d in claimed]
        uow.commit()
    for delivery_id in ids:
        deliver_one(factory, settings, delivery_id, now=now, post=post)
    return len(ids)


def deliver_one(
    factory: sessionmaker[Session],
    settings: Settings,
    delivery_id: uuid.UUID,
    now: datetime | None = None,
    post: Poster = http_post,
    rng: random.Random | None = None,
) -> str:
    """One attempt of one pending delivery, logged; returns the delivery's status after it."""
    policy = Policy.from_settings(settings)
    with UnitOfWork(factory) as uow:
        delivery = uow.session.get(WebhookDelivery, delivery_id)
        if delivery is None or delivery.status != "pending":
            return "gone" if delivery is None else delivery.status
        webhook = uow.session.get(Webhook, delivery.webhook_id)
        assert webhook is not None  # the delivery cascades with it
        url, number = webhook.url, delivery.attempt_count + 1
        body = json.dumps(delivery.payload, separators=(",", ":"), ensure_ascii=False).encode()
        try:
            secret = keyring_of(uow.session).open(webhook.secret_secret, secret_context(webhook.id))
        except CrmError as exc:
            outcome: Outcome | None = Outcome(
                None, 0, error=f"signing secret unavailable: {exc.detail}", permanent=True
            )
        else:
            outcome = None
            headers = {
                "Content-Type": "application/json",
                "User-Agent": USER_AGENT,
                "X-CRM-Event": delivery.event_type,
                "X-CRM-Event-Id": str(delivery.event_id),
                "X-CRM-Delivery": str(delivery.id),
                "X-CRM-Attempt": str(number),
                webhook_signatures.HEADER: webhook_signatures.header_value(secret, int(time.time()), body),
            }
    if outcome is None:
        outcome = post(url, body, headers, policy)
    return _record(factory, delivery_id, number, outcome, policy, now or utcnow(), rng)


def _record(
    factory: sessionmaker[Session],
    delivery_id: uuid.UUID,
    number: int,
    outcome: Outcome,
    policy: Policy,
    now: datetime,
    rng: random.Random | None,
) -> str:
    with UnitOfWork(factory) as uow:
        delivery = uow.session.get(WebhookDelivery, delivery_id)
        if delivery is None:
            return "gone"  # its webhook was deleted meanwhile
        next_at = None
        if outcome.delivered:
            delivery.status, delivery.completed_on, delivery.last_error = "delivered", now, None
        else:
            delivery.last_error = outcome.error or f"HTTP {outcome.status_code}"
            if outcome.retriable and number < policy.max_attempts:
                next_at = now + timedelta(seconds=next_delay(number, policy, outcome.retry_after, rng))
            else:
                delivery.status, delivery.completed_on = "failed", now
        delivery.attempt_count = number
        delivery.next_attempt_at = next_at
        uow.session.add(
            WebhookAttempt(
                id=uuid.uuid4(),
                delivery_id=delivery_id,
                number=number,
                attempted_on=now,
                status_code=outcome.status_code,
                duration_ms=outcome.duration_ms,
                error=outcome.error,
                response_excerpt=outcome.excerpt,
                next_attempt_at=next_at,
            )
        )
        uow.commit()
        return delivery.status
