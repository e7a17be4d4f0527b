"""Is this mail written by a machine? Auto-replies (RFC 3834 Auto-Submitted, the X-Autoreply family,
Precedence: auto_reply) must never get an acknowledgement (mail loops); list and bulk mail (List-Id,
List-Unsubscribe, Precedence: bulk/list/junk) must never create a contact or a case."""

from email.message import EmailMessage


def _value(message: EmailMessage, name: str) -> str | None:
    try:
        value = message.get(name)
    except (ValueError, TypeError, IndexError):
        return None
    return None if value is None else str(value).strip().lower()


def is_auto_reply(message: EmailMessage) -> bool:
    auto_submitted = _value(message, "Auto-Submitted")
    if auto_submitted and not auto_submitted.startswith("no"):
        return True
    if any(_value(message, h) is not None for h in ("X-Autoreply", "X-Autorespond", "X-Autoresponder")):
        return True
    return _value(message, "Precedence") == "auto_reply" or _value(message, "X-Auto-Response") is not None


def is_bulk(message: EmailMessage) -> bool:
    if _value(message, "Precedence") in {"bulk", "list", "junk"}:
        return True
    return any(_value(message, h) is not None for h in ("List-Id", "List-Unsubscribe"))
