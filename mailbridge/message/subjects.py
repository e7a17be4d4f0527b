"""The thread subject: what stays of a subject once reply and forward prefixes, in the languages mail
clients actually send (Re, Fwd, FW, AW, WG, SV, Antw, ...), counters like "Re[2]:" and the tracking token
are gone. It is a matching key for "smart matching", so it is also casefolded."""

import re

from mailbridge.message.tokens import TrackingTokens

# English, German (AW/WG), Scandinavian (SV/VS), Dutch (Antw/Doorst), French (TR/RE), Spanish (RV/RES).
_PREFIX = re.compile(
    r"^\s*(?:re|fwd?|aw|wg|sv|vs|antw|doorst|tr|rv|res|ref)\s*(?:\[\d+\]|\(\d+\))?\s*[:\uff1a]\s*",
    re.IGNORECASE,
)
_LIST_TAG = re.compile(r"^\s*\[[^\]]{1,40}\]\s*")


def thread_subject(subject: str, tokens: TrackingTokens) -> str:
    """Strip the tracking token, then prefixes (repeatedly, also behind a leading [list] tag)."""
    text = tokens.remove(subject or "")
    while True:
        stripped = _PREFIX.sub("", text, count=1)
        if stripped == text:
            tagless = _LIST_TAG.sub("", text, count=1)
            if tagless != text and _PREFIX.match(tagless):
                stripped = tagless
            else:
                break
        text = stripped
    return " ".join(text.split()).casefold()
