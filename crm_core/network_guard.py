"""Outbound requests to URLs that users configure (webhooks) reach the internet only, not this server, its
network or the cloud's metadata service (SSRF).

The host is resolved and every address it resolves to is checked: loopback, link-local (169.254.0.0/16 with
the metadata service 169.254.169.254, fe80::/10), private (RFC 1918, fc00::/7, 100.64.0.0/10), multicast,
unspecified and reserved addresses are refused unless they fall in CRM_OUTBOUND_ALLOW (a JSON list of CIDRs,
empty by default). The check runs when the URL is saved and again right before each connection, which goes
to the address that was checked (DNS may answer differently the second time); redirects are not followed by
the callers.

Servers an administrator enters (IMAP and SMTP hosts, EWS, Graph and CalDAV URLs: `check_server_host`,
`check_server_url`) follow a looser rule: private networks are allowed, as on-premises Exchange lives there, and
only this machine and its link (loopback, link-local, unspecified, multicast) are refused, with the same
CRM_OUTBOUND_ALLOW as the way out."""

import ipaddress
import os
import socket
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from crm_core.errors import ValidationFailed

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str, int], list[str]]

# Not all of these are flagged by the ipaddress module's is_private on every Python version: named here.
_REFUSED = tuple(
    ipaddress.ip_network(n)
    for n in (
        "0.0.0.0/8",
        "10.0.0.0/8",
        "100.64.0.0/10",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "172.16.0.0/12",
        "192.0.0.0/24",
        "192.168.0.0/16",
        "198.18.0.0/15",
        "224.0.0.0/4",
        "240.0.0.0/4",
        "::/128",
        "::1/128",
        "fc00::/7",
        "fe80::/10",
        "ff00::/8",
    )
)


class OutboundRefused(ValidationFailed):
    """A URL whose host is, or resolves to, an address we do not connect to; a 422 naming the field."""


@dataclass(frozen=True)
class Target:
    """Where to connect: the URL's parts and the checked address to connect to."""

    scheme: str
    host: str  # as written (for Host and TLS SNI)
    port: int
    address: str  # the checked IP


def parse_allow(cidrs: Iterable[str]) -> tuple[IpNetwork, ...]:
    """CRM_OUTBOUND_ALLOW's networks; a bad entry is a ValueError naming it."""
    out = []
    for cidr in cidrs:
        try:
            out.append(ipaddress.ip_network(cidr.strip(), strict=False))
        except ValueError as exc:
            raise ValueError(f"CRM_OUTBOUND_ALLOW: {cidr!r} is not a network (write 10.1.2.0/24)") from exc
    return tuple(out)


def _unmapped(address: IpAddress) -> IpAddress:
    """An IPv4-mapped IPv6 address as the IPv4 address it is (::ffff:127.0.0.1 is loopback)."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _machine_refusal(address: IpAddress) -> str | None:
    """What every outbound connection refuses: this machine, its link (the cloud's metadata service), multicast
    and the unspecified address."""
    for what, flag in (
        ("loopback", address.is_loopback),
        ("link-local", address.is_link_local),
        ("multicast", address.is_multicast),
        ("unspecified", address.is_unspecified),
    ):
        if flag:
            return f"a {what} address"
    return None


def refusal(address: IpAddress, allow: Sequence[IpNetwork]) -> str | None:
    """Why `address` is refused, or None when we may connect to it."""
    address = _unmapped(address)
    if any(address in net for net in allow):
        return None
    if why := _machine_refusal(address):
        return why
    if (
        any(address in net for net in _REFUSED if net.version == address.version)
        or address.is_private
        or address.is_reserved
    ):
        return "a private or reserved address"
    return None


def _system_resolver(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def check_url(
    url: str, allow: Sequence[IpNetwork], field: str = "url", resolver: Resolver = _system_resolver
) -> Target:
    """The connection target of `url` (http or https), every address of its host checked; OutboundRefused
    (422 naming `field`) otherwise."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise OutboundRefused.field(field, "must be an http:// or https:// URL with a host")
    if parts.username or parts.password:
        raise OutboundRefused.field(field, "must not hold a user name or password (use the signing secret)")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise OutboundRefused.field(field, "has an invalid port") from None
    host = parts.hostname
    try:
        addresses = [host] if _is_ip(host) else resolver(host, port)
    except (OSError, UnicodeError):
        raise OutboundRefused.field(field, f"the host {host!r} does not resolve") from None
    if not addresses:
        raise OutboundRefused.field(field, f"the host {host!r} does not resolve")
    for text in addresses:
        why = refusal(ipaddress.ip_address(text.split("%", 1)[0]), allow)
        if why is not None:
            raise OutboundRefused.field(
                field,
                f"{host} is {why} ({text}); only public addresses are reached "
                "unless CRM_OUTBOUND_ALLOW lists its network",
            )
    return Target(parts.scheme, host, port, addresses[0].split("%", 1)[0])


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


# --- Servers an administrator enters (mail servers, Exchange and CalDAV URLs) ------------------------------
# On-premises Exchange and IMAP live on private networks, so private addresses are allowed here; what is
# refused is this machine itself and the link-local range with the cloud's metadata service.
_THIS_NETWORK = ipaddress.ip_network("0.0.0.0/8")  # Linux connects 0.0.0.0 to this machine


def server_refusal(address: IpAddress, allow: Sequence[IpNetwork]) -> str | None:
    """Why a mail or calendar server at `address` is refused (loopback, link-local, unspecified, multicast),
    or None; private addresses pass."""
    address = _unmapped(address)
    if any(address in net for net in allow):
        return None
    if why := _machine_refusal(address):
        return why
    if address.version == 4 and address in _THIS_NETWORK:
        return "a this-network (0.0.0.0/8) address"
    return None


def check_server_host(
    host: str, allow: Sequence[IpNetwork], field: str, port: int = 0, resolver: Resolver = _system_resolver
) -> None:
    """A server host as entered (a name, an IPv4 or a bare or bracketed IPv6 address), every address it
    resolves to checked with server_refusal; OutboundRefused (422 naming `field`) otherwise. A name that does not
    resolve passes (it may not be in DNS yet; the connectors check again when they connect)."""
    host = host.strip().strip("[]")
    if _is_ip(host.split("%", 1)[0]):
        addresses = [host]
    else:
        try:
            addresses = resolver(host, port)
        except (OSError, UnicodeError):
            return
    for text in addresses:
        why = server_refusal(ipaddress.ip_address(text.split("%", 1)[0]), allow)
        if why is not None:
            raise OutboundRefused.field(
                field,
                f"{host} is {why} ({text}): a server on this machine or its link is not reached "
                "unless CRM_OUTBOUND_ALLOW lists its network",
            )


def check_server_url(url: str, allow: Sequence[IpNetwork], field: str, resolver: Resolver = _system_resolver) -> None:
    """check_server_host for an http(s) URL's host (EWS, Graph, an authority, CalDAV, an iCalendar feed)."""
    parts = urlsplit(url)
    if not parts.hostname:
        return
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise OutboundRefused.field(field, "has an invalid port") from None
    check_server_host(parts.hostname, allow, field, port, resolver)


def configured_allow() -> tuple[IpNetwork, ...]:
    """CRM_OUTBOUND_ALLOW as the environment (or .env) sets it, looked at on each call: the services that check
    server addresses are built without settings, and an allowance changed for a test or a restart counts. The
    Settings are built again only when the variable or the .env file changed (building them costs about 2 ms,
    a fifth of an IMAP pass that finds nothing new)."""
    from crm_core.settings import Settings

    try:
        env_file = os.stat(".env").st_mtime_ns
    except OSError:
        env_file = None
    # Settings match variable names whatever their case.
    variable = "\0".join(v for k, v in os.environ.items() if k.upper() == "CRM_OUTBOUND_ALLOW")
    key = (variable, env_file, os.getcwd())
    cached = _allow_cache.get(key)
    if cached is None:
        cached = parse_allow(Settings().outbound_allow)
        _allow_cache.clear()  # one entry: the configuration in force
        _allow_cache[key] = cached
    return cached


_allow_cache: dict[tuple[str, int | None, str], tuple[IpNetwork, ...]] = {}
