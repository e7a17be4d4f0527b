"""The add-in's tests reach real mail servers as the mail tests do: Dovecot (IMAP) and the fake Graph."""

from tests.fakes.graph.fixtures import graph_certificate, graph_fake  # noqa: F401 - fixtures
from tests.mailbridge.conftest import dovecot, mailbox  # noqa: F401 - fixtures
