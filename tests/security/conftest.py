"""The security suite's fixtures: the mail servers of tests/mailbridge (Dovecot, aiosmtpd) and a switch that
removes the tests' loopback allowance (tests/conftest.py) to prove what production refuses."""

import pytest

from tests.mailbridge.conftest import dovecot, mailbox, smtp_certificate  # noqa: F401 - fixtures


@pytest.fixture
def no_allowance(monkeypatch: pytest.MonkeyPatch) -> None:
    """CRM_OUTBOUND_ALLOW as production has it by default: empty (monkeypatch restores the tests' own)."""
    monkeypatch.setenv("CRM_OUTBOUND_ALLOW", "[]")
