"""The worker tests use the mail tests' real Dovecot (a fresh account per test)."""

from tests.mailbridge.conftest import dovecot, mailbox  # noqa: F401 - fixtures
