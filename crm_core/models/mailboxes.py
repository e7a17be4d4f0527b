"""Email server profiles and mailboxes (Dynamics' emailserverprofile and mailbox): where mail is read and sent
from, whose mailbox it is, what of its mail is tracked, and whether an admin approved it.

A mailbox belongs to a user or a queue through one real foreign key per kind (as queue items do), so the
database keeps "one mailbox per user, one per queue" true. Secrets are stored only as ciphertext
(crm_core.security.secrets) in `*_secret` columns, which the audit trail records as "***" (see
`__audit_redacted__` in crm_core.audit)."""

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Integer, SmallInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm_core.db.base import Base, RecordMixin, StateMixin
from crm_core.db.types import JsonDoc
from crm_core.models.queues import Queue
from crm_core.models.security import User

INCOMING_PROTOCOLS = ("imap", "ews", "graph")
OUTGOING_PROTOCOLS = ("smtp", "ews", "graph")  # an Exchange profile sends through its own API
EXCHANGE_AUTH = {"graph": ("application", "delegated"), "ews": ("basic", "ntlm", "oauth")}
GRAPH_URL = "https://graph.microsoft.com/v1.0"
ENTRA_URL = "https://login.microsoftonline.com"
SECURITIES = ("tls", "starttls", "plain")
INCOMING_FILTERS = ("all", "known_records", "crm_replies")
KEEP_CONTENT = ("metadata", "subject", "everything")
UNKNOWN_SENDERS = ("keep_address", "create_contact", "create_lead")
APPROVAL = ("pending", "approved")
TEST_OUTCOMES = ("ok", "failed")
DEFAULT_FOLDERS = ("INBOX", "Sent")
DEFAULT_SYNC_INTERVAL = 300  # seconds between two passes of a mailbox (Dynamics polls about every 5 minutes)
MIN_SYNC_INTERVAL, MAX_SYNC_INTERVAL = 30, 86400


def _among(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class EmailServerProfile(RecordMixin, StateMixin, Base):
    """How to reach a mail server: incoming (IMAP, Exchange through EWS or Microsoft Graph) and outgoing (SMTP
    submission, or the Exchange profile's own API), and an optional profile-wide credential for mailboxes that
    carry none (a service account; for Exchange, an app registration's secret or certificate). Active 0 /
    Inactive 1."""

    __tablename__ = "email_server_profiles"
    __audited__ = True
    __audit_redacted__: ClassVar[frozenset[str]] = frozenset(
        {"password_secret", "client_secret_secret", "client_certificate_secret"})

    name: Mapped[str] = mapped_column(String(160), unique=True)
    description: Mapped[str | None] = mapped_column(Text)
    incoming_protocol: Mapped[str] = mapped_column(String(10), default="imap")
    incoming_host: Mapped[str] = mapped_column(String(255))
    incoming_port: Mapped[int | None] = mapped_column(Integer)  # None: the security's usual port
    incoming_security: Mapped[str] = mapped_column(String(10), default="tls")
    outgoing_protocol: Mapped[str] = mapped_column(String(10), default="smtp")
    outgoing_host: Mapped[str | None] = mapped_column(String(255))  # None: mailboxes of it cannot send
    outgoing_port: Mapped[int | None] = mapped_column(Integer)
    outgoing_security: Mapped[str] = mapped_column(String(10), default="starttls")
    use_same_credentials_for_outgoing: Mapped[bool] = mapped_column(Boolean, default=True)
    max_concurrent_connections: Mapped[int] = mapped_column(SmallInteger, default=4)
    username: Mapped[str | None] = mapped_column(String(320))
    password_secret: Mapped[str | None] = mapped_column(Text)
    # Exchange (ews, graph): where, and how to authenticate (see EXCHANGE_AUTH).
    service_url: Mapped[str | None] = mapped_column(String(500))  # EWS URL (null: autodiscover); Graph's base
    auth_type: Mapped[str | None] = mapped_column(String(12))
    authority_url: Mapped[str | None] = mapped_column(String(500))  # null: Entra ID's public cloud
    tenant_id: Mapped[str | None] = mapped_column(String(100))
    client_id: Mapped[str | None] = mapped_column(String(100))
    client_secret_secret: Mapped[str | None] = mapped_column(Text)
    client_certificate_secret: Mapped[str | None] = mapped_column(Text)  # PEM private key and certificate
    client_certificate_thumbprint: Mapped[str | None] = mapped_column(String(64))
    mark_category: Mapped[str | None] = mapped_column(String(255))  # tracked items' category; null: none

    __table_args__ = (
        CheckConstraint(_among("incoming_protocol", INCOMING_PROTOCOLS), name="incoming_protocol"),
        CheckConstraint(_among("incoming_security", SECURITIES), name="incoming_security"),
        CheckConstraint(_among("outgoing_protocol", OUTGOING_PROTOCOLS), name="outgoing_protocol"),
        CheckConstraint(_among("outgoing_security", SECURITIES), name="outgoing_security"),
        CheckConstraint("max_concurrent_connections BETWEEN 1 AND 100", name="max_connections"),
        CheckConstraint("incoming_port IS NULL OR incoming_port BETWEEN 1 AND 65535", name="incoming_port"),
        CheckConstraint("outgoing_port IS NULL OR outgoing_port BETWEEN 1 AND 65535", name="outgoing_port"),
    )

    @property
    def has_password(self) -> bool:
        return self.password_secret is not None

    @property
    def has_client_secret(self) -> bool:
        return self.client_secret_secret is not None

    @property
    def has_client_certificate(self) -> bool:
        return self.client_certificate_secret is not None

    @property
    def is_exchange(self) -> bool:
        return self.incoming_protocol in EXCHANGE_AUTH

    @property
    def uses_app_credential(self) -> bool:
        """Whether mailboxes authenticate with the profile's app registration (Graph application, EWS OAuth)."""
        return self.auth_type in ("application", "oauth")


@dataclass(frozen=True)
class SyncPermission:
    """Whether a mailbox may sync now, and if not, why in words (shown to the admin, logged by the sync)."""

    allowed: bool
    reason: str | None = None

    def __bool__(self) -> bool:
        return self.allowed


class Mailbox(RecordMixin, Base):
    """A user's or a queue's mailbox on one server profile, with the options Dynamics has per mailbox and
    the result of its last connection test."""

    __tablename__ = "mailboxes"
    __audited__ = True
    __audit_redacted__: ClassVar[frozenset[str]] = frozenset({"password_secret", "oauth_refresh_token_secret"})

    name: Mapped[str] = mapped_column(String(160), unique=True)
    email_address: Mapped[str] = mapped_column(String(320), unique=True)
    user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"), unique=True)
    queue_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("queues.id"), unique=True)
    # The owner's business unit: where the mailbox sits for unit-depth privileges.
    business_unit_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("business_units.id"), index=True)
    server_profile_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("email_server_profiles.id"), index=True)
    incoming_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    outgoing_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    incoming_filter: Mapped[str] = mapped_column(String(20), default="known_records")
    folders: Mapped[list[str]] = mapped_column(JsonDoc, default=lambda: list(DEFAULT_FOLDERS))
    keep_content: Mapped[str] = mapped_column(String(12), default="everything")
    unknown_senders: Mapped[str] = mapped_column(String(16), default="keep_address")
    # How often the workers sync it; read by their dispatcher at every round, so a change needs no restart.
    sync_interval_seconds: Mapped[int] = mapped_column(Integer, default=DEFAULT_SYNC_INTERVAL,
                                                       server_default=str(DEFAULT_SYNC_INTERVAL))
    username: Mapped[str | None] = mapped_column(String(320))  # None: the email address
    password_secret: Mapped[str | None] = mapped_column(Text)
    oauth_refresh_token_secret: Mapped[str | None] = mapped_column(Text)  # reserved for Graph
    approval_status: Mapped[str] = mapped_column(String(10), default="pending")
    approved_on: Mapped[datetime | None]
    approved_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    last_test_on: Mapped[datetime | None]
    last_test_outcome: Mapped[str | None] = mapped_column(String(10))
    last_test_reason: Mapped[str | None] = mapped_column(String(32))
    last_test_message: Mapped[str | None] = mapped_column(Text)
    # Set by a sync the server refused for good (consent revoked, password changed): the mailbox stops and
    # says why until its credentials change or a connection test passes.
    sync_stopped_on: Mapped[datetime | None]
    sync_stopped_reason: Mapped[str | None] = mapped_column(String(32))
    sync_stopped_message: Mapped[str | None] = mapped_column(Text)
    # Set when a Graph change notification asked for a sync sooner (mailbridge.notifications); cleared by the sync.
    sync_requested_on: Mapped[datetime | None]

    server_profile: Mapped[EmailServerProfile] = relationship(lazy="joined", innerjoin=True)
    user: Mapped[User | None] = relationship(foreign_keys=[user_id], lazy="joined")
    queue: Mapped[Queue | None] = relationship(lazy="joined")

    __table_args__ = (
        CheckConstraint("(user_id IS NULL) <> (queue_id IS NULL)", name="one_regarding"),
        CheckConstraint(_among("incoming_filter", INCOMING_FILTERS), name="incoming_filter"),
        CheckConstraint(_among("keep_content", KEEP_CONTENT), name="keep_content"),
        CheckConstraint(_among("unknown_senders", UNKNOWN_SENDERS), name="unknown_senders"),
        CheckConstraint(_among("approval_status", APPROVAL), name="approval_status"),
        CheckConstraint(f"sync_interval_seconds BETWEEN {MIN_SYNC_INTERVAL} AND {MAX_SYNC_INTERVAL}",
                        name="sync_interval"),
        CheckConstraint(f"last_test_outcome IS NULL OR {_among('last_test_outcome', TEST_OUTCOMES)}",
                        name="last_test_outcome"),
    )

    # --- what the API shows ------------------------------------------------------------------------
    @property
    def regarding_type(self) -> str:
        return "user" if self.user_id is not None else "queue"

    @property
    def regarding_id(self) -> uuid.UUID:
        regarding = self.user_id or self.queue_id
        assert regarding is not None
        return regarding

    @property
    def has_password(self) -> bool:
        return self.password_secret is not None

    @property
    def has_oauth_refresh_token(self) -> bool:
        return self.oauth_refresh_token_secret is not None

    @property
    def stopped_because(self) -> str:
        when = f"{self.sync_stopped_on:%Y-%m-%d %H:%M} UTC" if self.sync_stopped_on else "?"
        return f"stopped since {when}: {self.sync_stopped_message}"

    @property
    def has_credentials(self) -> bool:
        profile = self.server_profile
        if profile.uses_app_credential:
            return profile.client_secret_secret is not None or profile.client_certificate_secret is not None
        if profile.auth_type == "delegated":
            return self.oauth_refresh_token_secret is not None
        return self.password_secret is not None or profile.password_secret is not None

    @property
    def missing_credentials(self) -> str:
        profile = self.server_profile
        if profile.uses_app_credential:
            return f"the email server profile {profile.name!r} has neither a client secret nor a certificate"
        if profile.auth_type == "delegated":
            return "the mailbox's user has not consented yet (no refresh token)"
        return "no password: neither the mailbox nor its email server profile has one"

    @property
    def login_name(self) -> str:
        """The user name the server is given: the mailbox's, the profile's, else the email address."""
        return self.username or self.server_profile.username or self.email_address

    # --- what the sync pipeline asks ---------------------------------------------------------------
    def may_sync(self, direction: str = "incoming") -> SyncPermission:
        """Whether the pipeline may read ("incoming") or send ("outgoing") through this mailbox now.
        Only an approved, enabled mailbox of an active profile with credentials and an enabled owner may."""
        profile = self.server_profile
        blockers: list[tuple[bool, str]] = [
            (self.approval_status != "approved", "the mailbox is pending approval by an administrator"),
            (direction == "incoming" and not self.incoming_enabled, "incoming sync is off for this mailbox"),
            (direction == "outgoing" and not self.outgoing_enabled, "outgoing mail is off for this mailbox"),
            (profile.statecode != 0, f"the email server profile {profile.name!r} is inactive"),
            (direction == "outgoing" and not profile.outgoing_host,
             f"the email server profile {profile.name!r} has no outgoing server"),
            (self.sync_stopped_on is not None, self.stopped_because),
            (not self.has_credentials, self.missing_credentials),
            (self.user is not None and self.user.is_disabled, "the mailbox's user is disabled"),
            (self.queue is not None and self.queue.statecode != 0, "the mailbox's queue is inactive"),
        ]
        for blocked, reason in blockers:
            if blocked:
                return SyncPermission(False, reason)
        return SyncPermission(True)
