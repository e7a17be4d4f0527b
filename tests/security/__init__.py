"""The security suite (issue 10, "Hardening"): one test module per promise, runnable and citable as one with
`.venv/bin/pytest -q tests/security` (docs/security.md lists the older tests that prove a promise already).

- test_hostile_html.py: hostile HTML mail (script, event handlers, javascript:/data: URLs, CSS and SVG tricks,
  meta refresh, <base>, tracking pixels) comes back from the API sanitised, remote images without their address.
- test_header_injection.py: a CR/LF in a subject, a recipient, a sender's name or a template value never adds
  a header or a recipient on the wire (read back from a real SMTP server).
- test_access_every_entity.py: every entity's collection refuses a user without privileges, and every
  user-owned entity honours each privilege depth, in Python and in SQL.
- test_secrets.py: passwords, client secrets, refresh tokens, webhook secrets and API tokens absent from API
  answers, from every column of every table, and from logs (text and JSON) during failing syncs and tests.
- test_ssrf.py: an admin-entered mail or calendar server on loopback or link-local is refused (422 naming the
  field) at save and before connecting, unless CRM_OUTBOUND_ALLOW lists it; private networks stay allowed.

Add-in tokens (forged, expired, wrong audience, wrong tenant) are proven by
tests/addin_manifest/test_addin_auth.py, and the pages' rendering of mail text by the browser tests of the admin
console, the task pane and the service calendar: see docs/security.md."""
