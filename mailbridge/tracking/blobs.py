"""Content-addressed storage: bytes stored once under their sha256 (raw messages, attachments, quarantined
mail). The same attachment sent to fifty people is one blob."""

import hashlib

from sqlalchemy.orm import Session

from crm_core.models import MailBlob
from mailbridge.tracking.lookups import BatchLookups


def store_blob(session: Session, content: bytes, sha256: str | None = None,
               lookups: BatchLookups | None = None) -> str:
    """Stores `content` unless a blob of the same hash exists (in the database or this session); its hash."""
    digest = sha256 or hashlib.sha256(content).hexdigest()
    if lookups is not None:
        if not lookups.has_blob(digest):
            session.add(MailBlob(sha256=digest, size=len(content), content=content))
            lookups.add_blob(digest)
    elif session.get(MailBlob, digest) is None:
        session.add(MailBlob(sha256=digest, size=len(content), content=content))
    return digest
