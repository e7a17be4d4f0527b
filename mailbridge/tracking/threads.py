"""What correlation returns: the thread a mail belongs to (the CRM email it answers or continues), the
signal that found it, a confidence, and the regarding record the mail inherits."""

import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the lookups import the correlation steps, which import this
    from mailbridge.tracking.lookups import EmailLike

Ref = tuple[str, uuid.UUID]


@dataclass(frozen=True)
class ThreadLink:
    signal: str  # token | in_reply_to | references | smart_match
    confidence: float
    email_id: uuid.UUID | None  # the thread's email (None when ambiguous)
    regarding: Ref | None
    token: str | None = None  # the thread's tracking token, carried on to the new mail
    candidates: tuple[dict[str, Any], ...] = field(default=())
    needs_review: bool = False


def link_to(email: "EmailLike", signal: str, confidence: float) -> ThreadLink:
    regarding = (email.regarding_type, email.regarding_id) if email.regarding_type and email.regarding_id else None
    return ThreadLink(signal, confidence, email.id, regarding, email.tracking_token)
