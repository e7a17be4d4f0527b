"""Mailboxes (Dynamics' mailbox): a user's or a queue's mailbox on an email server profile, its tracking
options, its approval, and the result of its last connection test.

Access: administrators (the mailbox privileges at Organization depth) do everything; a user reads and
changes the options of his own mailbox (the default roles give mailbox Read and Write at User depth, and the
mailbox's user is "mine"), but not whose it is or its server profile, and never approves it. Nobody else
sees it (404). A new mailbox, or one whose address changed, is pending until an admin approves it; only an
approved, enabled mailbox may sync (`Mailbox.may_sync`).

Secrets: passwords and refresh tokens arrive in clear, are sealed at once (crm_core.security.secrets) bound
to this mailbox, and are opened only by `connection_of` for the connectors."""

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from crm_core.db.types import utcnow
from crm_core.email_addresses import normalize_field
from crm_core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from crm_core.models import EmailServerProfile, Mailbox, MailboxTrackingFolder, Queue, User
from crm_core.models.mailboxes import (
    DEFAULT_FOLDERS,
    DEFAULT_SYNC_INTERVAL,
    ENTRA_URL,
    INCOMING_FILTERS,
    KEEP_CONTENT,
    TEST_OUTCOMES,
    UNKNOWN_SENDERS,
)
from crm_core.security.privileges import Depth, Privilege
from crm_core.security.secrets import Keyring, keyring_of, reveal
from crm_core.services.email_server_profiles import (
    check_profile_servers,
    profile_password_context,
    profile_secret_context,
)
from crm_core.services.records import OwnerRef, RecordService

MAX_FOLDERS, MAX_FOLDER_LENGTH = 20, 200
# What only an administrator may set: whose mailbox it is and which server it uses.
ADMIN_FIELDS = ("regarding_type", "regarding_id", "server_profile_id")
_NOT_NULL = ("email_address", "server_profile_id", "incoming_enabled", "outgoing_enabled", "incoming_filter",
             "folders", "keep_content", "unknown_senders", "sync_interval_seconds")
_CHOICES = {"incoming_filter": INCOMING_FILTERS, "keep_content": KEEP_CONTENT, "unknown_senders": UNKNOWN_SENDERS}


def secret_context(mailbox_id: uuid.UUID, what: str) -> str:
    """Where a mailbox secret lives; its ciphertext opens nowhere else."""
    return f"mailbox:{mailbox_id}:{what}"


@dataclass(frozen=True)
class Endpoint:
    """One server to log in to, with the credentials in clear (never in repr)."""

    host: str
    port: int | None
    security: str
    username: str | None
    password: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class ExchangeEndpoint:
    """How to reach Exchange, for a mailbox of an "ews" or "graph" profile, with its secrets in clear (never in
    repr). Graph: `auth_type` "application" (client credentials: a secret or a certificate) or "delegated" (the
    user's consent, kept as a refresh token). EWS: "basic" or "ntlm" (the incoming endpoint's username and
    password) or "oauth" (client credentials, as Graph's application mode)."""

    auth_type: str
    service_url: str | None  # EWS: its URL (None: autodiscover); Graph: its base, https://graph.microsoft.com/v1.0
    authority_url: str = "https://login.microsoftonline.com"  # Entra ID, a national cloud's, or a test server
    tenant_id: str | None = None
    client_id: str | None = None
    client_secret: str | None = field(default=None, repr=False)
    client_certificate: str | None = field(default=None, repr=False)  # PEM: private key and certificate
    client_certificate_thumbprint: str | None = None  # SHA-1, hex, as Entra ID shows it
    refresh_token: str | None = field(default=None, repr=False)  # delegated: the user's consent
    mark_category: str | None = "Tracked to CRM"  # shown on tracked items in Outlook; None: no marking


@dataclass(frozen=True)
class MailboxConnection:
    """Everything a connector needs for one mailbox, as plain values (mailbridge builds its settings from it)."""

    mailbox_id: uuid.UUID
    email_address: str
    protocol: str
    incoming: Endpoint
    outgoing: Endpoint | None  # None: outgoing mail is off for this mailbox
    folders: tuple[str, ...]
    exchange: ExchangeEndpoint | None = None  # an "ews" or "graph" mailbox's way in


@dataclass(frozen=True)
class TestOutcome:
    """What a connection test found: ok, or the reason code (dns, connect, tls, auth, folder_missing...)."""

    __test__ = False
    ok: bool
    reason: str | None
    message: str
    at: datetime = field(default_factory=utcnow)


def connection_of(session: Session, mailbox: Mailbox) -> MailboxConnection:
    """The mailbox's servers and decrypted credentials: the mailbox's own, else its profile's. No access
    check (the sync acts as the organisation); SecretUnavailable if a secret cannot be opened, OutboundRefused
    (422) if a server address is now loopback or link-local."""
    keyring = keyring_of(session)
    profile = mailbox.server_profile
    check_profile_servers(profile)  # SSRF: the addresses again, as DNS answers now (docs/security.md)
    username = mailbox.login_name
    if mailbox.password_secret is not None:
        password: str | None = keyring.open(mailbox.password_secret, secret_context(mailbox.id, "password"))
    elif profile.password_secret is not None:
        password = keyring.open(profile.password_secret, profile_password_context(profile.id))
    else:
        password = None
    incoming = Endpoint(profile.incoming_host, profile.incoming_port, profile.incoming_security, username, password)
    outgoing = None
    if mailbox.outgoing_enabled and profile.outgoing_host:
        same = profile.use_same_credentials_for_outgoing or profile.is_exchange
        outgoing = Endpoint(profile.outgoing_host, profile.outgoing_port, profile.outgoing_security,
                            username if same else None, password if same else None)
    exchange = _exchange_endpoint(keyring, profile, mailbox) if profile.is_exchange else None
    return MailboxConnection(mailbox.id, mailbox.email_address, profile.incoming_protocol, incoming, outgoing,
                             sync_folders(session, mailbox), exchange)


def sync_folders(session: Session, mailbox: Mailbox) -> tuple[str, ...]:
    """The folders a sync reads: the mailbox's own, then its tracked folders (folder-level tracking rules) that
    are not among them, compared without regard to case as the servers name folders."""
    own = tuple(mailbox.folders)
    seen = {f.lower() for f in own}
    tracked = session.scalars(select(MailboxTrackingFolder.folder).where(
        MailboxTrackingFolder.mailbox_id == mailbox.id).order_by(MailboxTrackingFolder.folder))
    return own + tuple(f for f in tracked if f.lower() not in seen)


def _exchange_endpoint(keyring: Keyring, profile: EmailServerProfile, mailbox: Mailbox) -> ExchangeEndpoint:
    def profile_secret(what: str) -> str | None:
        sealed = getattr(profile, f"{what}_secret")
        return None if sealed is None else keyring.open(sealed, profile_secret_context(profile.id, what))

    refresh = mailbox.oauth_refresh_token_secret
    return ExchangeEndpoint(
        auth_type=profile.auth_type or "", service_url=profile.service_url,
        authority_url=profile.authority_url or ENTRA_URL, tenant_id=profile.tenant_id, client_id=profile.client_id,
        client_secret=profile_secret("client_secret"), client_certificate=profile_secret("client_certificate"),
        client_certificate_thumbprint=profile.client_certificate_thumbprint,
        refresh_token=None if refresh is None else keyring.open(refresh, secret_context(mailbox.id,
                                                                                         "oauth_refresh_token")),
        mark_category=profile.mark_category)


def stop_sync(session: Session, mailbox_id: uuid.UUID, reason: str, message: str) -> None:
    """Stops a mailbox the server refused for good (consent revoked, password changed), saying why; the admin
    sees it on the mailbox and the sync skips it until new credentials or a passing connection test. The
    caller commits."""
    mailbox = session.get(Mailbox, mailbox_id)
    if mailbox is not None and mailbox.sync_stopped_on is None:
        mailbox.sync_stopped_on = utcnow()
        mailbox.sync_stopped_reason = reason[:32]
        mailbox.sync_stopped_message = message[:2000]
        session.flush()


def store_refresh_token(session: Session, mailbox_id: uuid.UUID, refresh_token: str) -> Mailbox:
    """A user's consent (delegated Graph access), as the consent flow or a token rotation brings it: sealed on
    the mailbox, and a mailbox stopped for a refused consent may sync again. The caller commits."""
    mailbox = session.get(Mailbox, mailbox_id)
    if mailbox is None:
        raise NotFound(f"no mailbox with id {mailbox_id}")
    mailbox.oauth_refresh_token_secret = keyring_of(session).seal(
        refresh_token, secret_context(mailbox.id, "oauth_refresh_token"))
    _resume_sync(mailbox)
    session.flush()
    return mailbox


def _resume_sync(mailbox: Mailbox) -> None:
    mailbox.sync_stopped_on = mailbox.sync_stopped_reason = mailbox.sync_stopped_message = None


def find_mailbox(session: Session, name: str) -> Mailbox:
    """A mailbox by name or email address (for the CLI)."""
    wanted = name.strip()
    mailbox = session.scalar(select(Mailbox).where(or_(Mailbox.name == wanted,
                                                       Mailbox.email_address == wanted.lower())))
    if mailbox is None:
        raise NotFound(f"no mailbox named {wanted!r} (give its name or email address; `crm mailbox list`)")
    return mailbox


def rekey(session: Session, keyring: Keyring) -> int:
    """Re-seals every stored secret under the current key (after a secret key change); returns how many
    changed. The caller commits; the audit trail records "***" -> "***"."""
    changed = 0
    for profile in session.scalars(select(EmailServerProfile)):
        for what in ("password", "client_secret", "client_certificate"):
            token = getattr(profile, f"{what}_secret")
            if token is not None and not keyring.is_current(token):
                setattr(profile, f"{what}_secret", keyring.rotate(token, profile_secret_context(profile.id, what)))
                changed += 1
    for mailbox in session.scalars(select(Mailbox)):
        for column, what in (("password_secret", "password"), ("oauth_refresh_token_secret", "oauth_refresh_token")):
            token = getattr(mailbox, column)
            if token is not None and not keyring.is_current(token):
                setattr(mailbox, column, keyring.rotate(token, secret_context(mailbox.id, what)))
                changed += 1
    session.flush()
    return changed


class MailboxService(RecordService[Mailbox]):
    entity_name = "mailbox"
    links: ClassVar[dict[str, str]] = {"server_profile_id": "email_server_profile"}
    sortable: ClassVar[set[str]] = {"created_on", "modified_on", "name", "email_address"}

    @property
    def administers(self) -> bool:
        """Whether the caller administers mailboxes (Write at Organization depth): sets owners, approves."""
        return self.principal.depth(self.entity_name, Privilege.WRITE) >= Depth.ORGANIZATION

    # --- writes ------------------------------------------------------------------------------------
    def create(self, values: dict[str, Any], owner: OwnerRef | None = None) -> Mailbox:
        if owner is not None:
            raise ValidationFailed.field("owner_id", "a mailbox belongs to its user or queue: give regarding_type "
                                         "and regarding_id")
        self.principal.require(self.entity_name, Privilege.CREATE)
        record = Mailbox(id=uuid.uuid4(), approval_status="pending")
        self.apply(record, values, creating=True)
        self.session.add(record)
        self.session.flush()
        self.uow.commit()
        return record

    def update(self, record_id: uuid.UUID, values: dict[str, Any]) -> Mailbox:
        record = self.get(record_id, Privilege.WRITE)
        admin_only = sorted(k for k in ADMIN_FIELDS if k in values)
        if admin_only and not self.administers:
            raise Forbidden(f"only an administrator changes {', '.join(admin_only)} of a mailbox")
        self.apply(record, values, creating=False)
        self.session.flush()
        self.uow.commit()
        return record

    def approve(self, record_id: uuid.UUID) -> Mailbox:
        """Dynamics' "Approve email": the address may now be used to sync and send."""
        record = self.get(record_id)
        if not self.administers:
            raise Forbidden("only an administrator approves a mailbox")
        if record.approval_status == "approved":
            raise Conflict(f"the mailbox {record.name!r} is approved already")
        self.uow.set_action("approve")
        record.approval_status = "approved"
        record.approved_on = utcnow()
        record.approved_by_id = self.principal.actor_id
        self.session.flush()
        self.uow.commit()
        return record

    def connection(self, record_id: uuid.UUID) -> MailboxConnection:
        """The decrypted connection of a mailbox the caller may change (its user, or an admin)."""
        return connection_of(self.session, self.get(record_id, Privilege.WRITE))

    def record_test(self, record_id: uuid.UUID, outcome: TestOutcome) -> Mailbox:
        record = self.get(record_id, Privilege.WRITE)
        self.uow.set_action("test_connection")
        record.last_test_on = outcome.at
        record.last_test_outcome = TEST_OUTCOMES[0] if outcome.ok else TEST_OUTCOMES[1]
        record.last_test_reason = None if outcome.ok else (outcome.reason or "unknown")[:32]
        record.last_test_message = outcome.message[:2000]
        if outcome.ok:
            _resume_sync(record)
        self.session.flush()
        self.uow.commit()
        return record

    # --- rules -------------------------------------------------------------------------------------
    def apply(self, record: Mailbox, values: dict[str, Any], creating: bool) -> None:
        values = dict(values)
        secrets = {k: reveal(values.pop(k)) for k in ("password", "oauth_refresh_token") if k in values}
        regarding = (values.pop("regarding_type", None), values.pop("regarding_id", None))
        for key in _NOT_NULL:
            if key in values and values[key] is None:
                raise ValidationFailed.field(key, "cannot be null")
        old_address = record.email_address
        super().apply(record, values, creating)
        if creating or regarding != (None, None):
            self._set_regarding(record, *regarding)
        self._check(record, values, creating)
        if record.email_address != old_address:
            # Dynamics: a new or changed address must be approved again before it syncs.
            record.approval_status, record.approved_on, record.approved_by_id = "pending", None, None
        keyring = keyring_of(self.session)
        for what, value in secrets.items():
            if value is not None and not value:
                raise ValidationFailed.field(what, f"an empty {what.replace('_', ' ')}; send null to remove it")
            sealed = None if value is None else keyring.seal(value, secret_context(record.id, what))
            setattr(record, f"{what}_secret", sealed)
        if secrets or "server_profile_id" in values:
            _resume_sync(record)  # new credentials: worth trying again

    def _set_regarding(self, record: Mailbox, kind: str | None, regarding_id: uuid.UUID | None) -> None:
        if kind not in ("user", "queue") or regarding_id is None:
            raise ValidationFailed.field("regarding_id", "whose mailbox: regarding_type (user or queue) and "
                                         "regarding_id, together")
        if kind == "user":
            user = self.session.get(User, regarding_id)
            if user is None or user.is_disabled:
                raise ValidationFailed.field("regarding_id", f"no enabled user with id {regarding_id}")
            record.user_id, record.queue_id, record.business_unit_id = user.id, None, user.business_unit_id
            column: Any = Mailbox.user_id
        else:
            queue = self.session.get(Queue, regarding_id)
            if queue is None:
                raise ValidationFailed.field("regarding_id", f"no queue with id {regarding_id}")
            record.user_id, record.queue_id, record.business_unit_id = None, queue.id, queue.owning_business_unit_id
            column = Mailbox.queue_id
        other = self.session.scalar(select(Mailbox.name).where(column == regarding_id, Mailbox.id != record.id))
        if other is not None:
            raise Conflict(f"this {kind} has a mailbox already ({other!r}); one each", field="regarding_id")

    def _check(self, record: Mailbox, values: dict[str, Any], creating: bool) -> None:
        record.email_address = normalize_field("email_address", record.email_address) or ""
        if not record.email_address:
            raise ValidationFailed.field("email_address", "a mailbox needs an email address")
        record.name = (record.name or "").strip() or record.email_address
        for column, label in ((Mailbox.email_address, "email_address"), (Mailbox.name, "name")):
            value = getattr(record, label)
            if self.session.scalar(select(Mailbox.id).where(column == value, Mailbox.id != record.id)):
                raise Conflict(f"another mailbox has the {label.replace('_', ' ')} {value!r}", field=label)
        profile = self.session.get(EmailServerProfile, record.server_profile_id) if record.server_profile_id else None
        if profile is None:
            raise ValidationFailed.field("server_profile_id", "the email server profile the mailbox uses")
        if "server_profile_id" in values and profile.statecode != 0:
            raise ValidationFailed.field("server_profile_id", f"the email server profile {profile.name!r} is inactive")
        record.server_profile = profile
        if creating:
            defaults = {"incoming_enabled": True, "outgoing_enabled": bool(profile.outgoing_host),
                        "incoming_filter": "all" if record.queue_id else "known_records",
                        "folders": list(DEFAULT_FOLDERS), "keep_content": "everything",
                        "unknown_senders": "keep_address", "sync_interval_seconds": DEFAULT_SYNC_INTERVAL}
            for key, value in defaults.items():
                if key not in values:
                    setattr(record, key, value)
        if record.outgoing_enabled and not profile.outgoing_host:
            raise ValidationFailed.field("outgoing_enabled", f"the email server profile {profile.name!r} has no "
                                         "outgoing server")
        for key, allowed in _CHOICES.items():
            if getattr(record, key) not in allowed:
                raise ValidationFailed.field(key, f"one of {', '.join(allowed)}")
        record.folders = _folders(record.folders)
        record.username = (record.username or "").strip() or None


def _folders(folders: Any) -> list[str]:
    if not isinstance(folders, list) or not folders or len(folders) > MAX_FOLDERS:
        raise ValidationFailed.field("folders", f"a list of 1 to {MAX_FOLDERS} folder names")
    out: list[str] = []
    for i, name in enumerate(folders):
        name = name.strip() if isinstance(name, str) else ""
        if not name or len(name) > MAX_FOLDER_LENGTH or any(ord(c) < 32 for c in name):
            raise ValidationFailed.field(f"folders[{i}]", f"a folder name of 1 to {MAX_FOLDER_LENGTH} characters")
        if name not in out:
            out.append(name)
    return out
