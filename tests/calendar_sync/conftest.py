"""Fixtures for the calendar tests: real CalDAV servers (tests/calendar_sync/dav_servers.py), one of each per
session, and a fresh, empty calendar collection per test.

- `radicale`, `xandikos`: the running server (DavServer: base_url, username, password, verify,
  new_calendar()).
- `radicale_calendar`, `xandikos_calendar`: the URL of a new empty calendar on that server.
- `dav_server`: each of the two in turn (a parametrised fixture), for tests that must hold on both.
None of them touches the CRM database."""

from collections.abc import Iterator

import pytest

from tests.calendar_sync.dav_servers import DavServer, run_radicale, run_xandikos


@pytest.fixture(scope="session")
def radicale() -> Iterator[DavServer]:
    yield from run_radicale()


@pytest.fixture(scope="session")
def xandikos() -> Iterator[DavServer]:
    yield from run_xandikos()


@pytest.fixture
def radicale_calendar(radicale: DavServer) -> str:
    return radicale.new_calendar()


@pytest.fixture
def xandikos_calendar(xandikos: DavServer) -> str:
    return xandikos.new_calendar()


@pytest.fixture(params=["radicale", "xandikos"])
def dav_server(request: pytest.FixtureRequest) -> DavServer:
    server: DavServer = request.getfixturevalue(request.param)
    return server
