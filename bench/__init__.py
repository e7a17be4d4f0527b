"""Benchmarks: scripts run by hand (`.venv/bin/python bench/<name>.py`), their figures in docs/benchmarks.md."""

import os

# The benchmarks start their servers (Dovecot, Radicale, the fakes) on loopback, which an admin-entered server
# address may not point at unless CRM_OUTBOUND_ALLOW lists it (crm_core/network_guard.py, docs/security.md). The
# processes they start (crm worker, crm beat) inherit it.
os.environ.setdefault("CRM_OUTBOUND_ALLOW", '["127.0.0.0/8", "::1/128"]')
