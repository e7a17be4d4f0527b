"""Mail sources: where raw messages come from (IMAP now; EWS and Graph later; local Maildir and mbox), each
behind the one `MailSource` interface (base.py), with a memory backend (memory.py) as its reference and a
registry (registry.py) choosing the source of a mailbox's connection."""
