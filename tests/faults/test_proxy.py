"""The proxy itself, against a small echo server: a schedule is met in order, a reset reaches the client as RST
(ECONNRESET), a drop as an ordinary end of stream after exactly N bytes, a stall holds bytes back, and stopping
leaves no thread behind."""

import socket
import socketserver
import threading
from collections.abc import Iterator

import pytest

from tests.faults.proxy import FaultProxy, drop, refuse, reset, running_proxy, stall


class _Echo(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        while data := self.request.recv(4096):
            self.request.sendall(data)


@pytest.fixture
def echo() -> Iterator[tuple[str, int]]:
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Echo)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield "127.0.0.1", server.server_address[1]
    server.shutdown()
    server.server_close()


def _talk(proxy: FaultProxy, payload: bytes) -> bytes:
    with socket.create_connection((proxy.host, proxy.port), timeout=5) as sock:
        sock.sendall(payload)
        sock.shutdown(socket.SHUT_WR)
        received = b""
        while chunk := sock.recv(4096):
            received += chunk
        return received


def test_a_schedule_is_met_connection_by_connection(echo: tuple[str, int]) -> None:
    threads_before = threading.active_count()
    with running_proxy(echo) as proxy:
        proxy.schedule(refuse(), drop(5))
        with socket.create_connection((proxy.host, proxy.port), timeout=5) as sock:
            assert sock.recv(10) == b""  # closed at accept
        assert _talk(proxy, b"hello world") == b"hello"  # five bytes back, then the end
        assert _talk(proxy, b"hello world") == b"hello world"  # past the schedule: passes
        assert proxy.struck == 2 and len(proxy.connections) == 3
    assert threading.active_count() <= threads_before


def test_a_reset_is_an_rst_and_a_stall_only_delays(echo: tuple[str, int]) -> None:
    with running_proxy(echo) as proxy:
        proxy.schedule(reset(3), stall(0, 0.3))
        with pytest.raises(ConnectionResetError):
            _talk(proxy, b"hello world")
        assert _talk(proxy, b"hello world") == b"hello world"
        assert proxy.struck == 2
