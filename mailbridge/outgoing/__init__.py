"""Outgoing mail: the email activities the CRM sends (a user's, a campaign's, an acknowledgement), composed
and submitted through their mailbox. See crm_core.services.email_sending for how an email gets queued."""

from mailbridge.outgoing.sender import OutgoingOptions, SendSummary, mailbox_transport, send_pending

__all__ = ["OutgoingOptions", "SendSummary", "mailbox_transport", "send_pending"]
