"""The HTTPS transport: a stdlib `ThreadingHTTPServer` on 127.0.0.1 and a free port, speaking HTTP/1.1 with
keep-alive (Content-Length on every response), TLS with the test certificate. The TLS handshake happens in the
connection's own thread, so a client that stalls cannot block the accept loop; `stop()` closes connections still
open so that nothing outlives the fixture."""

import contextlib
import socket
import ssl
import threading
import urllib.parse
import uuid
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.fakes.graph.replies import Reply

Handler = Callable[[str, str, dict[str, str], dict[str, str], bytes], Reply]
_REASONS = {429: "Too Many Requests", 424: "Failed Dependency"}


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # head and body go out in two writes: no 40 ms wait for the delayed ACK
    server_version = "Microsoft-IIS/10.0"  # what Graph's front door says it is
    sys_version = ""
    timeout = 60  # an idle keep-alive connection is dropped after this
    server: "_Server"

    def log_message(self, format: str, *args: Any) -> None:
        pass  # quiet: the fake records requests itself

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline().strip():
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _dispatch(self) -> None:
        body = self._read_body()
        parts = urllib.parse.urlsplit(self.path)
        params = dict(urllib.parse.parse_qsl(parts.query, keep_blank_values=True))
        headers = {k.lower(): v for k, v in self.headers.items()}
        reply = self.server.app(self.command, parts.path, params, headers, body)
        self.send_response(reply.status, _REASONS.get(reply.status))
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(reply.body)))
        self.send_header("request-id", str(uuid.uuid4()))
        if self.headers.get("client-request-id"):
            self.send_header("client-request-id", self.headers["client-request-id"])
        self.end_headers()
        self.wfile.write(reply.body)

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _dispatch  # noqa: N815 - the names http.server calls


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, app: Handler, context: ssl.SSLContext) -> None:
        self.app = app
        self.context = context
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), _RequestHandler)

    def finish_request(self, request: Any, client_address: Any) -> None:
        # The handshake in this connection's thread, not in accept().
        try:
            request.settimeout(30)
            secure = self.context.wrap_socket(request, server_side=True)
        except (OSError, ssl.SSLError):
            return
        with self.connections_lock:
            self.connections.add(secure)
        try:
            self.RequestHandlerClass(secure, client_address, self)
        except (OSError, ssl.SSLError):
            pass  # the client went away
        finally:
            with self.connections_lock:
                self.connections.discard(secure)
            with contextlib.suppress(OSError):
                secure.close()

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass

    def close_connections(self) -> None:
        with self.connections_lock:
            for connection in list(self.connections):
                with contextlib.suppress(OSError):
                    connection.shutdown(socket.SHUT_RDWR)


class HttpsServer:
    def __init__(self, app: Handler, context: ssl.SSLContext) -> None:
        self._server = _Server(app, context)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=f"graph-fake-{self.port}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.close_connections()
        self._server.server_close()
        self._thread.join(timeout=10)
