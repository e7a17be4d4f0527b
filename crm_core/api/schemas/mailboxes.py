"""Bodies of email server profiles and mailboxes. Passwords and tokens are write-only: inputs take them as
secret strings (never echoed, not even in a validation error), outputs only say whether one is set."""

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from crm_core.api.schemas.common import RecordOut, Strict
from crm_core.models.mailboxes import DEFAULT_FOLDERS, DEFAULT_SYNC_INTERVAL, MAX_SYNC_INTERVAL, MIN_SYNC_INTERVAL

Security = Literal["tls", "starttls", "plain"]
IncomingProtocol = Literal["imap", "ews", "graph"]
IncomingFilter = Literal["all", "known_records", "crm_replies"]
KeepContent = Literal["metadata", "subject", "everything"]
UnknownSenders = Literal["keep_address", "create_contact", "create_lead"]

_SECURITY = "tls (implicit TLS: IMAPS 993, SMTPS 465), starttls (143, 587) or plain (loopback hosts only)"
_PROTOCOL = ("imap (with SMTP submission); graph (Exchange Online through Microsoft Graph); ews (Exchange Server "
             "through EWS). An Exchange profile sends through its own API.")
_AUTH = ("Exchange only. graph: application (the app's secret or certificate, for many mailboxes) or delegated "
         "(each user's consent); ews: basic, ntlm (the mailbox's or profile's username and password) or oauth.")
AuthType = Literal["application", "delegated", "basic", "ntlm", "oauth"]
_WRITE_ONLY = "Write-only: stored encrypted, never returned (see has_password); null removes it."
_PORT = "null: the usual port for the security"


def _secret(description: str) -> Any:
    return Field(default=None, min_length=1, max_length=4096, description=description)


# --- email server profiles ---------------------------------------------------------------------------
class _ProfileFields(Strict):
    description: str | None = None
    incoming_port: int | None = Field(default=None, ge=1, le=65535, description=_PORT)
    outgoing_host: str | None = Field(default=None, max_length=255,
                                      description="The SMTP submission server; null: mailboxes cannot send.")
    outgoing_port: int | None = Field(default=None, ge=1, le=65535, description=_PORT)
    username: str | None = Field(default=None, max_length=320,
                                 description="A profile-wide login for mailboxes without their own.")
    password: SecretStr | None = _secret(_WRITE_ONLY)
    service_url: str | None = Field(default=None, max_length=500, description=(
        "Exchange only: the EWS URL (https://mail.contoso.com/EWS/Exchange.asmx; null: autodiscover), or Graph's "
        "base URL (default https://graph.microsoft.com/v1.0)."))
    auth_type: AuthType | None = Field(default=None, description=_AUTH)
    authority_url: str | None = Field(default=None, max_length=500,
                                      description="Entra ID's login URL; null: https://login.microsoftonline.com.")
    tenant_id: str | None = Field(default=None, max_length=100, description="The Entra ID tenant (GUID or domain).")
    client_id: str | None = Field(default=None, max_length=100, description="The app registration's client id.")
    client_secret: SecretStr | None = _secret(_WRITE_ONLY)
    client_certificate: SecretStr | None = Field(default=None, min_length=1, max_length=20000, description=(
        "PEM text: the app's RSA private key and its certificate. " + _WRITE_ONLY))
    mark_category: str | None = Field(default=None, max_length=255, description=(
        "Exchange only: the category tracked items get in Outlook (as Dynamics' \"Tracked to Dynamics 365\"); "
        "null: none."))


class EmailServerProfileCreate(_ProfileFields):
    name: str = Field(min_length=1, max_length=160)
    incoming_protocol: IncomingProtocol = Field(default="imap", description=_PROTOCOL)
    incoming_host: str | None = Field(default=None, min_length=1, max_length=255, examples=["imap.example.com"],
                                      description="IMAP's host; an Exchange profile's follows its URL.")
    incoming_security: Security = Field(default="tls", description=_SECURITY)
    outgoing_protocol: Literal["smtp", "ews", "graph"] = "smtp"
    outgoing_security: Security = Field(default="starttls", description=_SECURITY)
    use_same_credentials_for_outgoing: bool = Field(
        default=True, description="true: log in to SMTP as to IMAP; false: send without authentication (a relay).")
    max_concurrent_connections: int = Field(default=4, ge=1, le=100)


class EmailServerProfileUpdate(_ProfileFields):
    name: str | None = Field(default=None, min_length=1, max_length=160)
    incoming_protocol: IncomingProtocol | None = Field(default=None, description=_PROTOCOL)
    incoming_host: str | None = Field(default=None, min_length=1, max_length=255)
    incoming_security: Security | None = None
    outgoing_protocol: Literal["smtp", "ews", "graph"] | None = None
    outgoing_security: Security | None = None
    use_same_credentials_for_outgoing: bool | None = None
    max_concurrent_connections: int | None = Field(default=None, ge=1, le=100)


class EmailServerProfileOut(RecordOut):
    name: str
    description: str | None
    incoming_protocol: str
    incoming_host: str
    incoming_port: int | None
    incoming_security: str
    outgoing_protocol: str
    outgoing_host: str | None
    outgoing_port: int | None
    outgoing_security: str
    use_same_credentials_for_outgoing: bool
    max_concurrent_connections: int
    username: str | None
    has_password: bool
    service_url: str | None
    auth_type: str | None
    authority_url: str | None
    tenant_id: str | None
    client_id: str | None
    has_client_secret: bool
    has_client_certificate: bool
    client_certificate_thumbprint: str | None
    mark_category: str | None
    statecode: int
    statuscode: int
    state: str = ""
    status: str = ""


# --- mailboxes ---------------------------------------------------------------------------------------
_FILTER = ("Which incoming mail is tracked: all; known_records (from or to contacts, leads and accounts the CRM "
           "knows); crm_replies (only replies to mail sent from the CRM). Default: all for a queue, known_records "
           "for a user.")
_FOLDERS = ('Folders to track; "INBOX" is the inbox and "Sent" the server\'s sent folder (IMAP special-use \\Sent, '
            'Exchange Sent Items), whatever their names; others by name, "Parent/Child" for a subfolder.')
_KEEP = "What is kept of a tracked mail: metadata (parties, date), subject too, or everything (bodies, attachments)."
_UNKNOWN = "A sender the CRM does not know: keep_address (a bare address), create_contact or create_lead."


class _MailboxOptions(Strict):
    name: str | None = Field(default=None, min_length=1, max_length=160, description="Default: the address.")
    email_address: str | None = Field(default=None, min_length=3, max_length=320,
                                      description="Changing it makes the mailbox pending approval again.")
    incoming_enabled: bool | None = Field(default=None, description="Sync incoming mail (default true).")
    outgoing_enabled: bool | None = Field(default=None, description="Send CRM mail through this mailbox "
                                          "(default: whether the profile has an outgoing server).")
    incoming_filter: IncomingFilter | None = Field(default=None, description=_FILTER)
    folders: list[str] | None = Field(default=None, min_length=1, max_length=20, description=_FOLDERS,
                                      examples=[list(DEFAULT_FOLDERS)])
    keep_content: KeepContent | None = Field(default=None, description=f"{_KEEP} Default everything.")
    unknown_senders: UnknownSenders | None = Field(default=None, description=f"{_UNKNOWN} Default keep_address.")
    sync_interval_seconds: int | None = Field(
        default=None, ge=MIN_SYNC_INTERVAL, le=MAX_SYNC_INTERVAL,
        description=f"Seconds between two syncs by the workers (default {DEFAULT_SYNC_INTERVAL}); taken into "
        "account at their next round, without a restart.")
    username: str | None = Field(default=None, max_length=320, description="Login; default the profile's "
                                 "username, else the email address.")
    password: SecretStr | None = _secret(f"{_WRITE_ONLY} Without one, the profile's credential is used.")
    oauth_refresh_token: SecretStr | None = _secret(
        "Microsoft Graph, delegated: the user's consent as a refresh token (the consent flow stores it). "
        + _WRITE_ONLY)


class MailboxCreate(_MailboxOptions):
    email_address: str = Field(min_length=3, max_length=320)
    regarding_type: Literal["user", "queue"] = Field(description="Whose mailbox: a user's or a queue's.")
    regarding_id: uuid.UUID
    server_profile_id: uuid.UUID


class MailboxUpdate(_MailboxOptions):
    regarding_type: Literal["user", "queue"] | None = Field(default=None, description="Administrators only.")
    regarding_id: uuid.UUID | None = Field(default=None, description="Administrators only.")
    server_profile_id: uuid.UUID | None = Field(default=None, description="Administrators only.")


class ConnectionTestOut(BaseModel):
    on: datetime
    outcome: Literal["ok", "failed"]
    reason: str | None = Field(description="null when ok; else dns, connect, tls, auth, folder_missing, "
                               "credentials, secret, protocol, temporary or unavailable")
    message: str


class MailboxOut(RecordOut):
    model_config = ConfigDict(from_attributes=True)

    name: str
    email_address: str
    regarding_type: Literal["user", "queue"]
    regarding_id: uuid.UUID
    business_unit_id: uuid.UUID
    server_profile_id: uuid.UUID
    incoming_enabled: bool
    outgoing_enabled: bool
    incoming_filter: str
    folders: list[str]
    keep_content: str
    unknown_senders: str
    sync_interval_seconds: int
    username: str | None
    has_password: bool
    has_oauth_refresh_token: bool
    approval_status: Literal["pending", "approved"]
    approved_on: datetime | None
    approved_by_id: uuid.UUID | None
    may_sync: bool = Field(description="Whether the sync may read this mailbox now.")
    sync_blocked_reason: str | None = Field(description="Why it may not, in words.")
    last_test: ConnectionTestOut | None = Field(description="The last connection test (POST .../test).")
    sync_stopped_on: datetime | None = Field(description="Set when the server refused the sync for good (consent "
                                             "revoked, password changed); cleared by new credentials or a passing "
                                             "connection test.")
    sync_stopped_reason: str | None
    sync_stopped_message: str | None
    sync_requested_on: datetime | None = Field(description="Set when a change notification asked for a sync sooner; "
                                               "cleared when the mailbox has synced.")


def mailbox_out(record: Any) -> MailboxOut:
    permission = record.may_sync()
    last_test = None
    if record.last_test_on is not None:
        last_test = ConnectionTestOut(on=record.last_test_on, outcome=record.last_test_outcome,
                                      reason=record.last_test_reason, message=record.last_test_message or "")
    data = {key: getattr(record, key) for key in MailboxOut.model_fields
            if key not in ("may_sync", "sync_blocked_reason", "last_test")}
    return MailboxOut(**data, may_sync=permission.allowed, sync_blocked_reason=permission.reason,
                      last_test=last_test)
