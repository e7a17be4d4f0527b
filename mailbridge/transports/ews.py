"""Sending through Exchange (EWS): CreateItem with the message's MIME content and MessageDisposition
SendAndSaveCopy, the copy saved in the mailbox's Sent Items, so the mail leaves as the mailbox's user and the
Sent folder's sync recognises it by our Message-ID (ensured before sending; Exchange keeps a Message-ID it is
given).

Exchange takes the recipients from the MIME's To, Cc and Bcc; envelope recipients beyond those are added as Bcc.
One EWS session per send, as the SMTP transport has one connection per send. A send is never repeated after a
dropped connection (it may have gone out); a short ErrorServerBusy back-off is waited out, since Exchange did
not take the request."""

import base64
from collections.abc import Sequence
from email.message import EmailMessage

from exchangelib import Account
from exchangelib import errors as ews

from mailbridge.errors import RecipientsRefused
from mailbridge.sources.ews.folders import resolve
from mailbridge.sources.ews.operations import SendMime
from mailbridge.sources.ews.session import EwsSession
from mailbridge.sources.ews.settings import SENT, EwsSettings
from mailbridge.transports.base import SentMessage, ensure_message_id, envelope


class EwsTransport:
    def __init__(self, settings: EwsSettings) -> None:
        self.settings = settings

    def send(self, message: EmailMessage, *, sender: str | None = None,
             recipients: Sequence[str] | None = None) -> SentMessage:
        message_id = ensure_message_id(message)
        _sender, rcpts = envelope(message, sender, recipients)
        if not rcpts:
            raise RecipientsRefused("the message has no recipient", {})
        in_headers = {r.lower() for r in envelope(message, None, None)[1]}
        extra_bcc = [r for r in rcpts if r.lower() not in in_headers]
        raw = message.as_bytes(policy=message.policy.clone(linesep="\r\n"))
        mime = base64.b64encode(raw).decode()

        def submit(account: Account) -> None:
            try:
                SendMime(account=account).send(mime, self.settings.address, extra_bcc)
            except (ews.ErrorInvalidRecipients, ews.ErrorMailRecipientNotFound) as exc:
                raise RecipientsRefused(f"Exchange refused the recipients: {exc}",
                                        dict.fromkeys(rcpts, str(exc)[:300])) from exc

        with EwsSession(self.settings) as session:
            session.call("sending", submit, repeatable=False)
        return SentMessage(message_id, tuple(rcpts), {}, raw)

    def check(self) -> None:
        """Log in and read the Sent Items folder: "test connection" for sending. Raises our errors as send()."""
        with EwsSession(self.settings) as session:
            session.call("finding Sent Items", lambda account: resolve(account, SENT))
