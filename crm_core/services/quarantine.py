"""The mail quarantine, for administrators: messages the tracking pipeline could not read, with their raw
bytes and the reason. An admin lists them, reads one, downloads its bytes (to open it in a mail program or
attach it to a bug report) and discards it. Trying it again needs the pipeline, which crm_core does not
import: that route is mailbridge's (mailbridge.review).

Rows are audited (`MailQuarantine.__audited__`): the trail shows when a message came and who discarded it."""

import uuid
from typing import ClassVar

from crm_core.models import MailQuarantine
from crm_core.security.privileges import Privilege
from crm_core.services.mail_privacy import free_blobs
from crm_core.services.records import RecordService

# What each reason code means. mailbridge owns the codes (mailbridge.message.QUARANTINE_REASONS and
# mailbridge.tracking.quarantine.REASONS); crm_core imports nothing from it, so the words are repeated here
# and a test keeps both lists equal.
REASON_MEANINGS: dict[str, str] = {
    "empty": "no bytes at all",
    "too_large": "the message is over the configured size limit",
    "headers_too_large": "the header section is over the configured limit",
    "no_headers": "no RFC 5322 header could be read (not a mail message)",
    "parse_failed": "the MIME structure made the parser fail",
    "tracking_failed": "the message was read, but tracking it failed",
}


def reason_meaning(reason: str) -> str:
    return REASON_MEANINGS.get(reason, "a reason this version does not know")


class QuarantineService(RecordService[MailQuarantine]):
    """Reads need the mail_quarantine read privilege (administrators by default); a discard needs delete."""

    entity_name = "mail_quarantine"
    sortable: ClassVar[set[str]] = {"quarantined_on", "created_on"}

    def raw(self, record_id: uuid.UUID) -> tuple[bytes, str]:
        """The message's bytes exactly as the source gave them, and a file name to save them under."""
        row = self.get(record_id)
        return bytes(row.raw.content), f"quarantine-{row.id}.eml"

    def discard(self, record_id: uuid.UUID) -> None:
        """Deletes the row (audited as "discard") and its bytes unless something else still uses them."""
        row = self.get(record_id, Privilege.DELETE)
        digest = row.raw_sha256
        self.uow.set_action("discard")
        self.session.delete(row)
        self.session.flush()
        free_blobs(self.session, {digest})
        self.uow.commit()
