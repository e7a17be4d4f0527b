"""The app served for real: uvicorn on 127.0.0.1 and a free port, over the tests' own database, for what a
TestClient cannot show (a browser loading a page, requests truly in parallel)."""

import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import uvicorn


class LiveServer:
    def __init__(self, url: str) -> None:
        self.url = url


@pytest.fixture
def live_server(api_app: Any, client: Any) -> Iterator[LiveServer]:
    """`client` first: it resets the app's caches and the database for this test, as for any other."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(api_app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="crm-live", daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.02)
        assert server.started, "uvicorn did not start"
        yield LiveServer(f"http://127.0.0.1:{sock.getsockname()[1]}")
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
