"""pytest fixtures for the fake EWS server (one certificate per session, a fresh server per test), and the
connection a CRM mailbox on it has, as crm_core hands it to mailbridge.

Import the fixtures where they are used (a conftest.py or a test module):
    from tests.fakes.ews.fixtures import ews, ews_certificate  # noqa: F401"""

import uuid
from collections.abc import Iterator, Sequence

import pytest

from crm_core.services.mailboxes import Endpoint, ExchangeEndpoint, MailboxConnection
from tests.fakes.ews.mailbox import FakeMailbox
from tests.fakes.ews.server import EwsFake, running_ews
from tests.mailbridge.tls import TestCertificate, make_certificate


@pytest.fixture(scope="session")
def ews_certificate(tmp_path_factory: pytest.TempPathFactory) -> TestCertificate:
    return make_certificate(tmp_path_factory.mktemp("ews-tls"))


@pytest.fixture
def ews(ews_certificate: TestCertificate) -> Iterator[EwsFake]:
    """A fake Exchange server on loopback, empty: the test adds its mailboxes."""
    with running_ews(ews_certificate) as fake:
        yield fake


def ews_connection(fake: EwsFake, box: FakeMailbox, *, mailbox_id: uuid.UUID | None = None,
                   password: str | None = None, folders: Sequence[str] = ("INBOX", "Sent"),
                   auth_type: str = "basic", client: tuple[str, str, str] | None = None,
                   mark_category: str | None = "Tracked to CRM", address: str | None = None) -> MailboxConnection:
    """The connection of a CRM mailbox on `box`: its login (Basic/NTLM) or an app's (`client`: tenant id, client
    id, client secret) for OAuth, the fake's EWS URL and token authority."""
    tenant_id, client_id, client_secret = client or (None, None, None)
    incoming = Endpoint("127.0.0.1", fake.port, "tls", box.username,
                        box.password if password is None else password)
    exchange = ExchangeEndpoint(auth_type, fake.url, authority_url=fake.authority_url, tenant_id=tenant_id,
                                client_id=client_id, client_secret=client_secret, mark_category=mark_category)
    return MailboxConnection(mailbox_id or uuid.uuid4(), address or box.address, "ews", incoming, None,
                             tuple(folders), exchange=exchange)
