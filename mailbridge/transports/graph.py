"""Sending through Exchange Online with Microsoft Graph, from the owner's mailbox.

The message goes as MIME: created as a draft (`POST /users/{user}/messages`, the MIME base64 in a text/plain
body), then sent (`POST .../messages/{id}/send`). The draft's answer carries the internetMessageId Exchange
keeps, so the CRM stores the Message-ID the recipients and the Sent Items copy will have, and the sync
recognises that copy instead of tracking it again. (`sendMail` answers 202 with no body: it cannot say.)"""

import base64
from collections.abc import Sequence
from email.message import EmailMessage
from email.utils import getaddresses

from mailbridge.errors import RecipientsRefused
from mailbridge.message.identifiers import normalise_message_id
from mailbridge.sources.graph.client import GraphClient
from mailbridge.sources.graph.folders import user_path
from mailbridge.sources.graph.settings import GraphSettings
from mailbridge.transports.base import SentMessage, ensure_message_id, envelope


class GraphTransport:
    def __init__(self, settings: GraphSettings, client: GraphClient | None = None) -> None:
        self.settings = settings
        self._client = client

    def send(self, message: EmailMessage, *, sender: str | None = None,
             recipients: Sequence[str] | None = None) -> SentMessage:
        ours = ensure_message_id(message)
        _mail_from, rcpts = envelope(message, sender, recipients)
        if not rcpts:
            raise RecipientsRefused("the message has no recipient", {})
        if recipients is not None:
            _bcc_only(message, rcpts)
        raw = message.as_bytes()
        client = self._client or GraphClient(self.settings)
        try:
            base = user_path(self.settings.user)
            draft = client.request("POST", f"{base}/messages", "create the message to send",
                                   content=base64.b64encode(raw), headers={"Content-Type": "text/plain"}).json()
            client.request("POST", f"{base}/messages/{draft['id']}/send", "send the message")
        finally:
            if self._client is None:
                client.close()
        kept = normalise_message_id(draft.get("internetMessageId")) or ours
        return SentMessage(kept, tuple(rcpts), {}, raw)


def _bcc_only(message: EmailMessage, recipients: Sequence[str]) -> None:
    """Exchange sends a MIME message to its To, Cc and Bcc headers: recipients given apart from them (an
    envelope, as SMTP has) are added as Bcc so that every one of them gets it."""
    listed = {addr.lower() for _n, addr in getaddresses([str(v) for h in ("To", "Cc", "Bcc")
                                                         for v in message.get_all(h, [])])}
    extra = [r for r in recipients if r.lower() not in listed]
    if extra:
        message["Bcc"] = ", ".join(extra)
