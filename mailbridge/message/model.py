"""The typed result of normalisation: one `NormalisedMessage` whatever connector delivered the bytes.

Everything here is plain data (frozen dataclasses) so the pipeline can persist, compare and hash it without
knowing about the stdlib email package; defects are short strings naming what was repaired on the way."""

import datetime as dt
from dataclasses import dataclass, field

from mailbridge.message.tokens import TrackingTokens

MiB = 1024 * 1024


@dataclass(frozen=True)
class NormaliseOptions:
    """Limits and choices of one normalisation. Components receive it; nothing reads a global."""

    max_message_bytes: int = 50 * MiB
    max_attachment_bytes: int = 25 * MiB
    max_header_bytes: int = 1 * MiB
    tokens: TrackingTokens = field(default_factory=TrackingTokens)
    allow_remote_images: bool = False


@dataclass(frozen=True)
class Address:
    """A normalised mailbox: `address` is "local@domain", both lowercased, the domain in Unicode form."""

    address: str
    display_name: str = ""

    @property
    def domain(self) -> str:
        return self.address.rpartition("@")[2]


@dataclass(frozen=True)
class UnparseableAddress:
    """An address header item we could not read, kept aside (with its header) rather than dropped."""

    header: str
    raw: str


@dataclass(frozen=True)
class Attachment:
    """One attachment or inline part. `content` is None when `too_large` (metadata and hash are kept)."""

    filename: str | None
    content_type: str
    size: int
    sha256: str
    content: bytes | None
    too_large: bool = False
    inline: bool = False
    content_id: str | None = None
    is_tnef: bool = False


@dataclass(frozen=True)
class NormalisedMessage:
    """One message as the pipeline sees it. `thread_subject` is a matching key (prefixes and tracking token
    stripped, whitespace collapsed, casefolded); `fingerprint` dedupes when Message-ID is missing or reused."""

    message_id: str | None
    in_reply_to: str | None
    references: tuple[str, ...]
    subject: str
    thread_subject: str
    tracking_token: str | None
    sent_at: dt.datetime | None
    from_: tuple[Address, ...]
    sender: Address | None
    to: tuple[Address, ...]
    cc: tuple[Address, ...]
    bcc: tuple[Address, ...]
    reply_to: tuple[Address, ...]
    unparseable_addresses: tuple[UnparseableAddress, ...]
    text_body: str | None
    html_body: str | None
    raw_html: str | None
    attachments: tuple[Attachment, ...]
    is_auto_reply: bool
    is_bulk: bool
    body_sha256: str
    fingerprint: str
    raw_size: int
    raw_sha256: str  # the raw bytes' address in the blob store
    raw: bytes = field(repr=False)
    defects: tuple[str, ...] = ()

    @property
    def from_address(self) -> Address | None:
        """Who the mail is from for tracking: the first From address, else the Sender."""
        return self.from_[0] if self.from_ else self.sender

    def participants(self) -> tuple[Address, ...]:
        """Every distinct address on the message (From, Sender, To, Cc, Bcc, Reply-To), first seen first."""
        seen: dict[str, Address] = {}
        for a in (*self.from_, *((self.sender,) if self.sender else ()), *self.to, *self.cc, *self.bcc,
                  *self.reply_to):
            seen.setdefault(a.address, a)
        return tuple(seen.values())
