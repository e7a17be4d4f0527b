"""Step: the block list (privacy). A mail with a blocked address or domain among its parties is never
tracked, whoever else it was to: tracking it would store the blocked address in the CRM."""

from dataclasses import dataclass

from mailbridge.message import NormalisedMessage
from mailbridge.tracking.options import TrackingOptions


@dataclass(frozen=True)
class BlockCheck:
    blocked: bool
    address: str | None = None  # the first blocked party found (for logs, never stored)


def check_block_list(message: NormalisedMessage, options: TrackingOptions) -> BlockCheck:
    for party in message.participants():
        if options.is_blocked(party.address):
            return BlockCheck(True, party.address)
    return BlockCheck(False)
