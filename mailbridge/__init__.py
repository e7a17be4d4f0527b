"""mailbridge: mail sources and transports, normalisation, correlation, tracking, rules.

Built so far (see docs/mail.md): `message` (raw bytes -> NormalisedMessage), `sources.imap` (sessions,
connection checks, incremental folder sync), `sources.local` (Maildir and mbox import), `transports`
(SMTP submission and a memory transport), `errors` (what every connector raises). Imports only crm_core."""
