"""Address headers into normalised `Address`es: the display name decoded, the local part lowercased, the
domain IDNA-normalised to its Unicode form and lowercased ("Bob@XN--BCHER-KVA.Example" and
"bob@Bücher.example" are one person). What cannot be read is kept as an `UnparseableAddress`."""

import re
from email.headerregistry import AddressHeader
from email.message import EmailMessage
from email.utils import getaddresses

import idna

from mailbridge.message.charsets import repair_header_text
from mailbridge.message.model import Address, UnparseableAddress

ADDRESS_HEADERS = ("from", "sender", "to", "cc", "bcc", "reply-to")
_LABEL = re.compile(r"^(?!-)[a-z0-9_-]{1,63}(?<!-)$")
_LOCAL_FORBIDDEN = re.compile(r"[\s<>()\[\],;\\\x00-\x1f\x7f]")


def normalise_domain(domain: str) -> str | None:
    """The domain in lowercase Unicode form, or None when it is not a usable host name.

    IDNA 2008 with UTS #46 mapping, as email-validator applies to the addresses of records
    (crm_core.email_addresses): Python's "idna" codec is IDNA 2003, which maps "ß" to "ss", so a mail from
    "x@straße.example" did not match the contact stored with that very address (found by tests/fuzz)."""
    text = domain.strip().rstrip(".").lower()
    if text.startswith("[") and text.endswith("]"):  # an address literal such as [192.0.2.1]
        return text
    try:
        mapped = text if text.isascii() else idna.uts46_remap(text, std3_rules=False, transitional=False)
        ascii_form = ".".join(label if label.isascii() else idna.alabel(label).decode("ascii")
                              for label in mapped.split("."))
    except (idna.IDNAError, UnicodeError, ValueError):
        return None
    labels = ascii_form.split(".")
    if len(ascii_form) > 253 or not all(_LABEL.match(label) for label in labels):
        return None
    if "xn--" not in ascii_form:
        return ascii_form
    try:
        return str(idna.decode(ascii_form.encode("ascii"))).lower()
    except (idna.IDNAError, UnicodeError, ValueError):
        return ascii_form  # a Punycode label that decodes to nothing valid: the host as written still names it


def normalise_address(address: str, display_name: str = "") -> Address | None:
    """One "local@domain" normalised, or None when it is not an address we can track."""
    local, at, domain = address.strip().rpartition("@")
    if not at or not local or not domain:
        return None
    if local.startswith('"') and local.endswith('"') and len(local) > 1:
        local = local[1:-1]
    if not local or _LOCAL_FORBIDDEN.search(local) or len(local) > 64:  # '""@host' unquotes to nothing
        return None
    host = normalise_domain(domain)
    if host is None:
        return None
    return Address(address=f"{local.lower()}@{host}", display_name=" ".join(display_name.split()))


def _items(message: EmailMessage, header: str) -> list[tuple[str, str, str]]:
    """(display name, addr-spec, raw text) for every item of every `header` field, tolerating broken ones."""
    items: list[tuple[str, str, str]] = []
    for raw in message.get_all(header, []):
        try:
            parsed = raw if isinstance(raw, AddressHeader) else None
            if parsed is not None:
                for a in parsed.addresses:
                    spec = f"{a.username}@{a.domain}" if a.domain else a.username
                    items.append((a.display_name, spec, str(a)))
                continue
        except Exception:  # noqa: S110 - the policy parser has raised on hostile input; fall back below
            pass
        for name, spec in getaddresses([str(raw)]):
            items.append((name, spec, f"{name} <{spec}>" if name else spec))
    return items


def read_addresses(message: EmailMessage, header: str) -> tuple[list[Address], list[UnparseableAddress]]:
    """The normalised addresses of one header (deduplicated, in order) and the items we could not read."""
    good: dict[str, Address] = {}
    bad: list[UnparseableAddress] = []
    try:
        items = _items(message, header)
    except Exception:
        # The raw values: get_all parses again, and raises again (found by tests/fuzz: the stdlib's TypeError
        # and IndexError on some groups), which made the whole mail unreadable for one bad address.
        raws = [repair_header_text(str(v)) for k, v in message.raw_items() if k.lower() == header]
        return [], [UnparseableAddress(header, r) for r in raws]
    for name, spec, raw in ((repair_header_text(n), repair_header_text(s), repair_header_text(r)) for n, s, r in items):
        if not spec and not name:
            continue
        address = normalise_address(spec, name)
        if address is None:
            bad.append(UnparseableAddress(header, raw.strip() or spec))
        else:
            good.setdefault(address.address, address)
    return list(good.values()), bad
