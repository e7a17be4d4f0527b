"""The text of a plain header without the header registry: what `policy.default` would give, computed directly.

The registry builds a parse tree for every header it hands out. For the headers the normaliser reads as text,
each mail's own values (Subject, Date) are never in mime_policy's cache, and their trees were a fifth of
`normalise()` on ordinary mail. For the common case the text is known without the tree:

- an unstructured header (Subject, In-Reply-To, References) in ASCII with no encoded word ("=?") decodes to
  itself, unfolded (the policy drops CR and LF before parsing);
- a Date the stdlib can read is given back as `format_datetime(parsedate_to_datetime(value))`, one it cannot
  read as itself (with a defect the normaliser does not read).

Anything else (8-bit or encoded text, an empty Date, a Date the stdlib's reader fails on with an error other
than ValueError) returns NOT_PLAIN, and the caller asks the registry as before; tests hold the two to the same
answers."""

from email.message import EmailMessage
from email.utils import format_datetime, parsedate_to_datetime
from typing import Final

NOT_PLAIN: Final = object()  # the registry must say
_UNSTRUCTURED = frozenset({"subject", "in-reply-to", "references"})
PLAIN = _UNSTRUCTURED | {"date"}  # the headers this module answers for (lowercase)


def plain_header(message: EmailMessage, name: str) -> str | object | None:
    """The first `name` header's text as the default policy would give it; None when the message has none;
    NOT_PLAIN when only the registry can tell. `name` must be one of PLAIN (any case)."""
    wanted = name.lower()
    value = next((v for k, v in message.raw_items() if k.lower() == wanted), None)
    if value is None:
        return None
    if not isinstance(value, str):
        return NOT_PLAIN
    text = value.replace("\r", "").replace("\n", "")
    if not text.isascii():
        return NOT_PLAIN
    if wanted in _UNSTRUCTURED:
        return NOT_PLAIN if "=?" in text else text
    if not text:
        return NOT_PLAIN
    try:
        return format_datetime(parsedate_to_datetime(text))
    except ValueError:
        return text
    except Exception:
        return NOT_PLAIN
