"""Meeting mail (iTIP over iMIP, RFC 5546 / RFC 6047): `itip` reads a text/calendar part and orders it,
`incoming.apply_meeting_mail` (the tracking pipeline's meeting_mail hook) applies REQUEST / REPLY / CANCEL to
the CRM's appointments through calendar_sync.appointments, and `invitations.send_invitation` mails an
appointment's invitation through its owner's mailbox. The calendar sync never sends mail."""
