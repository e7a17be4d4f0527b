"""Fixtures for the fault tests: the real servers of the mail and calendar tests (Dovecot, aiosmtpd, Radicale,
the fake EWS and Graph servers), each reached through a FaultProxy (tests/faults/proxy.py) the test steers."""

from collections.abc import Callable, Iterator

import pytest

from tests.calendar_sync.conftest import radicale  # noqa: F401 - fixtures
from tests.fakes.ews.fixtures import ews, ews_certificate  # noqa: F401 - fixtures
from tests.faults.proxy import FaultProxy
from tests.mailbridge.conftest import (  # noqa: F401 - fixtures
    dovecot,
    graph_certificate,
    graph_fake,
    mailbox,
    smtp_certificate,
    smtp_server,
)


@pytest.fixture
def proxy_to() -> Iterator[Callable[[tuple[str, int]], FaultProxy]]:
    """`proxy_to((host, port))` starts a proxy in front of that server; all are stopped after the test."""
    proxies: list[FaultProxy] = []

    def start(upstream: tuple[str, int]) -> FaultProxy:
        proxy = FaultProxy(upstream)
        proxy.start()
        proxies.append(proxy)
        return proxy

    yield start
    for proxy in proxies:
        proxy.stop()
