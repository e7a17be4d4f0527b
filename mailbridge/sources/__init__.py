"""Mail sources: where raw messages come from (IMAP now; EWS and Graph later; local Maildir and mbox)."""
