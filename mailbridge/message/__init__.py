"""Message normalisation: raw RFC 5322 bytes from any connector -> one typed `NormalisedMessage`."""

from mailbridge.errors import Unreadable
from mailbridge.message.model import Address, Attachment, NormalisedMessage, NormaliseOptions, UnparseableAddress
from mailbridge.message.normalise import QUARANTINE_REASONS, fingerprint, normalise
from mailbridge.message.tokens import TrackingTokens

__all__ = [
    "QUARANTINE_REASONS",
    "Address",
    "Attachment",
    "NormaliseOptions",
    "NormalisedMessage",
    "TrackingTokens",
    "UnparseableAddress",
    "Unreadable",
    "fingerprint",
    "normalise",
]
