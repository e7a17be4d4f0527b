"""Email server profiles (Dynamics' emailserverprofile): the organisation's mail servers, kept by admins.

IMAP is the only incoming protocol today; "ews" and "graph" are names reserved for the Exchange connectors and
refused with a 422 saying so. Unencrypted ("plain") connections are allowed to loopback hosts only, the rule
mailbridge.security applies when it connects: a password must never cross a network in clear. The optional
profile-level credential (a service account) is used by mailboxes that carry none; its password is sealed
with crm_core.security.secrets and never leaves the service in clear.

Every server address (the hosts, the EWS, Graph and authority URLs) is refused with a 422 naming its field when
it is, or resolves to, a loopback or link-local address (this machine, the cloud's metadata service at
169.254.169.254) unless CRM_OUTBOUND_ALLOW lists it: at save, and again by `check_profile_servers` when a
connector is about to connect (crm_core.network_guard; docs/security.md)."""

import ipaddress
import re
import uuid
from typing import Any, ClassVar
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from crm_core import network_guard
from crm_core.errors import Conflict, NotFound, ValidationFailed
from crm_core.models import EmailServerProfile
from crm_core.models.mailboxes import EXCHANGE_AUTH, GRAPH_URL, INCOMING_PROTOCOLS, SECURITIES
from crm_core.security.certificates import certificate_thumbprint
from crm_core.security.privileges import Privilege
from crm_core.security.secrets import keyring_of, reveal
from crm_core.services.records import OwnerRef, RecordService

_HOST = re.compile(r"^[A-Za-z0-9._:\[\]-]+$")  # a DNS name, an IPv4 or a bracketed/bare IPv6 address


def is_loopback(host: str) -> bool:
    """A host name or address that never leaves this machine (where an unencrypted connection is allowed)."""
    if host.lower() in {"localhost", "localhost.localdomain"}:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_server(host_field: str, host: str | None, security_field: str, security: str | None) -> str | None:
    """The host stripped and checked, and its security allowed for it; 422 naming the field otherwise."""
    if host is None:
        return None
    host = host.strip()
    if not host or not _HOST.match(host) or len(host) > 255:
        raise ValidationFailed.field(host_field, "a host name or IP address, such as imap.example.com")
    if security not in SECURITIES:
        raise ValidationFailed.field(security_field, f"one of {', '.join(SECURITIES)}")
    if security == "plain" and not is_loopback(host):
        raise ValidationFailed.field(security_field, "plain (unencrypted) connections are only allowed to a "
                                     "loopback host; use tls or starttls")
    network_guard.check_server_host(host, network_guard.configured_allow(), host_field)
    return host


def profile_secret_context(profile_id: object, what: str) -> str:
    """The sealing context of a profile's secret: "password", "client_secret" or "client_certificate"."""
    return f"email_server_profile:{profile_id}:{what}"


def profile_password_context(profile_id: object) -> str:
    return profile_secret_context(profile_id, "password")


_SECRETS = ("password", "client_secret", "client_certificate")
_TENANT = re.compile(r"^[A-Za-z0-9.-]{1,100}$")  # a GUID or a domain (contoso.onmicrosoft.com)
_THUMBPRINT = re.compile(r"^[0-9A-Fa-f]{40}$")


def check_url(field: str, url: str | None) -> str | None:
    """An https URL (http only to a loopback host), stripped of a trailing slash; 422 naming the field."""
    if url is None:
        return None
    url = url.strip().rstrip("/")
    parsed = urlsplit(url)
    host = parsed.hostname or ""
    if parsed.scheme not in ("https", "http") or not host or not _HOST.match(host) or len(url) > 500:
        raise ValidationFailed.field(field, "an https URL, such as https://mail.contoso.com/EWS/Exchange.asmx")
    if parsed.scheme == "http" and not is_loopback(host):
        raise ValidationFailed.field(field, "https: credentials must not cross a network in clear")
    network_guard.check_server_url(url, network_guard.configured_allow(), field)
    return url


def check_profile_servers(profile: EmailServerProfile) -> None:
    """The profile's server addresses checked again right before a connection (DNS may answer otherwise than
    at save, or CRM_OUTBOUND_ALLOW may have changed); OutboundRefused naming the field."""
    allow = network_guard.configured_allow()
    if profile.is_exchange:
        for key in ("service_url", "authority_url"):
            url = getattr(profile, key)
            if url:
                network_guard.check_server_url(url, allow, key)
        return
    for key in ("incoming_host", "outgoing_host"):
        host = getattr(profile, key)
        if host:
            network_guard.check_server_host(host, allow, key)


class EmailServerProfileService(RecordService[EmailServerProfile]):
    entity_name = "email_server_profile"
    sortable: ClassVar[set[str]] = {"created_on", "modified_on", "name"}

    def create(self, values: dict[str, Any], owner: OwnerRef | None = None) -> EmailServerProfile:
        """The organisation's: no owner. Starts Active."""
        if owner is not None:
            raise ValidationFailed.field("owner_id", "an email server profile has no owner")
        self.principal.require(self.entity_name, Privilege.CREATE)
        record = EmailServerProfile(id=uuid.uuid4(), statecode=0, statuscode=1)
        self.apply(record, values, creating=True)
        self.session.add(record)
        self.session.flush()
        self.uow.commit()
        return record

    def apply(self, record: EmailServerProfile, values: dict[str, Any], creating: bool) -> None:
        values = dict(values)
        secrets = {k: reveal(values.pop(k)) for k in _SECRETS if k in values}
        super().apply(record, values, creating)
        keyring = keyring_of(self.session)
        for what, value in secrets.items():
            if value is not None and not value:
                raise ValidationFailed.field(what, f"an empty {what.replace('_', ' ')}; send null to remove it")
            if what == "client_certificate" and value is not None:
                record.client_certificate_thumbprint = certificate_thumbprint(value)
            sealed = None if value is None else keyring.seal(value, profile_secret_context(record.id, what))
            setattr(record, f"{what}_secret", sealed)

    def validate(self, record: EmailServerProfile, values: dict[str, Any], creating: bool) -> None:
        for key in ("incoming_protocol", "incoming_host", "incoming_security", "outgoing_protocol",
                    "outgoing_security", "use_same_credentials_for_outgoing", "max_concurrent_connections"):
            if key in values and values[key] is None:
                raise ValidationFailed.field(key, "cannot be null")
        record.name = (record.name or "").strip()
        if not record.name:
            raise ValidationFailed.field("name", "an email server profile needs a name")
        taken = self.session.scalar(select(EmailServerProfile.id).where(
            EmailServerProfile.name == record.name, EmailServerProfile.id != record.id))
        if taken:
            raise Conflict(f"an email server profile named {record.name!r} exists already", field="name")
        self._defaults(record)
        if record.incoming_protocol not in INCOMING_PROTOCOLS:
            raise ValidationFailed.field("incoming_protocol", f"one of {', '.join(INCOMING_PROTOCOLS)}")
        if record.incoming_protocol in EXCHANGE_AUTH:
            self._validate_exchange(record, values)
        else:
            self._validate_imap(record)
        for key in ("incoming_port", "outgoing_port"):
            port = getattr(record, key)
            if port is not None and not 1 <= port <= 65535:
                raise ValidationFailed.field(key, "a TCP port, 1 to 65535 (or null for the usual one)")
        if not 1 <= record.max_concurrent_connections <= 100:
            raise ValidationFailed.field("max_concurrent_connections", "between 1 and 100")
        record.username = (record.username or "").strip() or None

    def _validate_imap(self, record: EmailServerProfile) -> None:
        if record.outgoing_protocol != "smtp":
            raise ValidationFailed.field("outgoing_protocol", "smtp (submission): an IMAP profile sends by SMTP")
        for key in ("service_url", "auth_type", "tenant_id", "client_id", "client_secret_secret",
                    "client_certificate_secret"):
            if getattr(record, key) is not None:
                raise ValidationFailed.field(key.removesuffix("_secret"), "only for an Exchange (ews or graph) "
                                             "profile")
        if not record.incoming_host:
            raise ValidationFailed.field("incoming_host", "the incoming (IMAP) server's host name")
        record.incoming_host = check_server("incoming_host", record.incoming_host, "incoming_security",
                                            record.incoming_security) or ""
        record.outgoing_host = check_server("outgoing_host", record.outgoing_host or None, "outgoing_security",
                                            record.outgoing_security)

    def _validate_exchange(self, record: EmailServerProfile, values: dict[str, Any]) -> None:
        """Graph or EWS: the URL and the authentication complete; the host columns follow the URL (so that
        lists and "can this profile send" read alike for every kind)."""
        protocol = record.incoming_protocol
        allowed = EXCHANGE_AUTH[protocol]
        if record.auth_type not in allowed:
            raise ValidationFailed.field("auth_type", f"for {protocol}: one of {', '.join(allowed)}")
        if protocol == "graph" and not record.service_url:
            record.service_url = GRAPH_URL
        record.service_url = check_url("service_url", record.service_url)
        record.authority_url = check_url("authority_url", record.authority_url)
        if protocol == "ews" and record.service_url is None and record.auth_type == "oauth":
            raise ValidationFailed.field("service_url", "EWS with OAuth needs the EWS URL (autodiscover is for "
                                         "basic and NTLM)")
        if record.auth_type in ("application", "delegated", "oauth"):
            for key in ("tenant_id", "client_id"):
                value = (getattr(record, key) or "").strip()
                if not value or not _TENANT.match(value):
                    raise ValidationFailed.field(key, "the Entra ID tenant (a GUID or domain) and the app's client id")
                setattr(record, key, value)
        thumbprint = record.client_certificate_thumbprint
        if thumbprint is not None and not _THUMBPRINT.match(thumbprint):
            raise ValidationFailed.field("client_certificate", "a certificate whose SHA-1 thumbprint can be read")
        if "outgoing_protocol" in values and values["outgoing_protocol"] not in ("smtp", protocol):
            raise ValidationFailed.field("outgoing_protocol", f"{protocol}: it sends through its own API")
        record.outgoing_protocol = protocol
        host = urlsplit(record.service_url).hostname if record.service_url else "autodiscover"
        record.incoming_host = record.outgoing_host = host or ""
        record.incoming_security = record.outgoing_security = "tls"
        if record.mark_category is not None:
            record.mark_category = record.mark_category.strip() or None

    @staticmethod
    def _defaults(record: EmailServerProfile) -> None:
        defaults = {"incoming_protocol": "imap", "incoming_security": "tls", "outgoing_protocol": "smtp",
                    "outgoing_security": "starttls", "use_same_credentials_for_outgoing": True,
                    "max_concurrent_connections": 4}
        for key, value in defaults.items():
            if getattr(record, key) is None:
                setattr(record, key, value)


def find_profile(session: Session, name: str) -> EmailServerProfile:
    """A profile by name (for the CLI); NotFound lists the known names."""
    profile = session.scalar(select(EmailServerProfile).where(EmailServerProfile.name == name.strip()))
    if profile is None:
        known = ", ".join(session.scalars(select(EmailServerProfile.name).order_by(EmailServerProfile.name)))
        raise NotFound(f"no email server profile named {name!r}" + (f"; known: {known}" if known else ""))
    return profile
