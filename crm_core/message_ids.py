"""Message-IDs in the one form the CRM stores and compares: an email's own Message-ID and In-Reply-To decide
threading and dedupe, so "<Abc.1@Example.COM>" given to the API and "Abc.1@example.com" read by a sync must be
the same value. (mailbridge normalises what it reads from mail with this very function.)"""

import re

MSGID = re.compile(r"<([^<>\s]+)>")


def normalise_message_id(value: str | None) -> str | None:
    """"<Abc.1@Example.COM>" -> "Abc.1@example.com": brackets gone, the domain part lowercased (the local
    part is case-sensitive by RFC 5322 and some relays rely on that)."""
    if not value:
        return None
    text = str(value).strip()
    match = MSGID.search(text)
    token = match.group(1) if match else (text.split()[0] if text.split() else "")
    token = token.strip("<>")
    if not token or len(token) > 995:
        return None
    local, at, domain = token.rpartition("@")
    return f"{local}@{domain.lower()}" if at and local else token
