"""The settings of the tracking pipeline, one typed object handed to the drivers (never read from a global).

The composition root builds it from crm_core's Settings; tests build it directly. Block-list entries are
whole addresses ("ceo@example.com") or domains ("example.com", "@example.com"); a domain also blocks its
subdomains, so "example.com" covers "mail.example.com"."""

import ssl
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from sqlalchemy.orm import Session

from crm_core.settings import Settings
from mailbridge.message import NormalisedMessage, NormaliseOptions, TrackingTokens
from mailbridge.tracking.context import MailboxContext

PartyMatching = Literal["best", "all"]
# Meeting mail (iTIP over iMIP): called with (session, mailbox, message, email activity id) for a newly tracked
# mail holding a text/calendar part. mailbridge must not import calendar_sync (ARCHITECTURE.md), so the
# composition root (workers) plugs calendar_sync.meetings.incoming.apply_meeting_mail in here.
MeetingMailHook = Callable[[Session, MailboxContext, NormalisedMessage, uuid.UUID], None]


def _block_entry(entry: str) -> str:
    """"@Example.com" -> "example.com"; addresses and domains lowercased."""
    entry = entry.strip().lower()
    return entry[1:] if entry.startswith("@") else entry


@dataclass(frozen=True)
class TrackingOptions:
    normalise: NormaliseOptions = field(default_factory=NormaliseOptions)
    # Addresses and domains whose mail is never tracked (privacy): a mail with one among its parties is skipped.
    block_list: tuple[str, ...] = ()
    # "best": an address resolves to one record (contact, lead, account, user, queue: the first kind with a
    # match), several records of that kind is ambiguous and goes to review; "all": every matching record.
    party_matching: PartyMatching = "best"
    # Smart matching on the normalised thread subject and an overlapping participant, within a window.
    smart_matching: bool = False
    smart_matching_days: int = 90
    # Messages fetched, tracked and committed together with their folder checkpoint.
    batch_size: int = 100
    # Worker processes normalising the next batch while the current one is written (None: the CPUs but one).
    parse_workers: int | None = None
    # For the IMAP connection: a timeout, and an SSL context for servers with a private CA (tests).
    timeout: float = 30.0
    ssl_context: ssl.SSLContext | None = field(default=None, repr=False, compare=False)
    # See MeetingMailHook; None: text/calendar parts are kept as attachments and nothing more.
    meeting_mail: MeetingMailHook | None = field(default=None, repr=False, compare=False)
    _blocked: frozenset[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.party_matching not in ("best", "all"):
            raise ValueError("party_matching is 'best' or 'all'")
        if self.batch_size < 1 or self.smart_matching_days < 1:
            raise ValueError("batch_size and smart_matching_days are positive")
        if self.parse_workers is not None and self.parse_workers < 0:
            raise ValueError("parse_workers is 0 or more")
        object.__setattr__(self, "_blocked", frozenset(_block_entry(e) for e in self.block_list if e.strip()))

    @classmethod
    def from_settings(cls, settings: Settings) -> "TrackingOptions":
        """The options the organisation's settings (CRM_MAIL_*) ask for."""
        mib = 1024 * 1024
        return cls(
            normalise=NormaliseOptions(max_message_bytes=settings.mail_max_message_mb * mib,
                                       max_attachment_bytes=settings.mail_max_attachment_mb * mib,
                                       tokens=TrackingTokens(prefix=settings.mail_token_prefix)),
            block_list=tuple(settings.mail_block_list), party_matching=settings.mail_party_matching,
            smart_matching=settings.mail_smart_matching, smart_matching_days=settings.mail_smart_matching_days,
            batch_size=settings.mail_sync_batch_size, parse_workers=settings.mail_parse_workers,
        )

    @property
    def tokens(self) -> TrackingTokens:
        return self.normalise.tokens

    def is_blocked(self, address: str) -> bool:
        """Whether a normalised address is on the block list, itself or by its domain (or a parent domain)."""
        if not self._blocked:
            return False
        if address in self._blocked:
            return True
        domain = address.rpartition("@")[2]
        parts = domain.split(".")
        return any(".".join(parts[i:]) in self._blocked for i in range(len(parts)))
