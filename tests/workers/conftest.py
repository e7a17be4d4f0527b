"""The worker tests use the mail tests' real Dovecot (a fresh account per test) and SMTP server, and the calendar
tests' Radicale."""

from tests.calendar_sync.conftest import radicale  # noqa: F401 - fixtures
from tests.mailbridge.conftest import dovecot, mailbox, smtp_certificate, smtp_server  # noqa: F401 - fixtures
