"""A fault-injecting TCP proxy for the fault tests: it listens on a free loopback port and forwards each
connection to a real upstream (Dovecot, aiosmtpd, Radicale, the fake EWS and Graph servers), byte for byte, so
TLS passes through untouched. A schedule says what each connection meets, in the order they arrive: pass, refuse
(closed at accept), drop (closed after N bytes), reset (RST after N bytes), stall (nothing forwarded for T
seconds after N bytes) or slow (k bytes per interval after N bytes). Connections past the schedule meet the
default (pass unless set). Byte counts are of one direction: "down" (server to client) or "up".

Threads, not asyncio: the clients under test are blocking, and a thread per connection keeps the byte counting
obvious. `stop()` raises a flag every thread polls (each closes its own sockets) and joins them all, so a
fixture's teardown leaves nothing behind."""

import select
import socket
import struct
import threading
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Literal

Kind = Literal["pass", "refuse", "drop", "reset", "stall", "slow"]
Direction = Literal["down", "up"]
_CHUNK = 16384
_POLL = 0.05  # seconds between looks at the stop flag


@dataclass(frozen=True)
class Fault:
    kind: Kind = "pass"
    after_bytes: int = 0  # bytes forwarded in `direction` before the fault strikes
    direction: Direction = "down"
    seconds: float = 0.0  # stall: how long; slow: the interval between two pieces
    piece: int = 1  # slow: bytes per interval
    # Armed once the client has sent these bytes (a plain-text command: b"UID FETCH", b"REPORT "); the byte
    # count starts there. Empty: armed from the first byte. Useless under TLS, where counts and schedules serve.
    armed_by: bytes = b""


PASS = Fault()


def refuse() -> Fault:
    return Fault("refuse")


def drop(after_bytes: int, direction: Direction = "down", *, armed_by: bytes = b"") -> Fault:
    return Fault("drop", after_bytes, direction, armed_by=armed_by)


def reset(after_bytes: int, direction: Direction = "down", *, armed_by: bytes = b"") -> Fault:
    return Fault("reset", after_bytes, direction, armed_by=armed_by)


def stall(after_bytes: int, seconds: float, direction: Direction = "down", *, armed_by: bytes = b"") -> Fault:
    return Fault("stall", after_bytes, direction, seconds=seconds, armed_by=armed_by)


def slow(
    after_bytes: int, piece: int, seconds: float, direction: Direction = "down", *, armed_by: bytes = b""
) -> Fault:
    return Fault("slow", after_bytes, direction, seconds=seconds, piece=piece, armed_by=armed_by)


@dataclass
class Connection:
    """One client connection and what it met; `struck` is set once its fault has happened."""

    number: int
    fault: Fault
    client: socket.socket
    upstream: socket.socket | None = None
    down_bytes: int = 0
    up_bytes: int = 0
    struck: bool = False
    armed_at: int | None = None  # the count in the fault's direction when it was armed
    _tail: bytes = b""  # the client's last bytes, for an `armed_by` split across two reads


class FaultProxy:
    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.default = PASS
        self.connections: list[Connection] = []
        self._schedule: deque[Fault] = deque()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self._listener = socket.create_server(("127.0.0.1", 0))
        # Every socket is polled, never closed under a blocked call from another thread: on Linux that does
        # not wake the call, and a reset would not leave before it returned.
        self._listener.settimeout(_POLL)
        self.host, self.port = "127.0.0.1", self._listener.getsockname()[1]

    def schedule(self, *faults: Fault, then: Fault = PASS) -> None:
        """The next connections meet `faults` in order; those after them meet `then`."""
        with self._lock:
            self._schedule = deque(faults)
            self.default = then

    @property
    def struck(self) -> int:
        """How many connections met their fault."""
        with self._lock:
            return sum(c.struck for c in self.connections)

    def start(self) -> None:
        self._spawn(self._accept)

    def stop(self) -> None:
        self._stopping.set()
        for thread in list(self._threads):
            thread.join(timeout=5)
        self._listener.close()

    def _spawn(self, target: Callable[..., None], *args: object) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)
        self._threads.append(thread)
        thread.start()

    def _accept(self) -> None:
        while not self._stopping.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            with self._lock:
                fault = self._schedule.popleft() if self._schedule else self.default
                conn = Connection(len(self.connections) + 1, fault, client)
                self.connections.append(conn)
            if fault.kind == "refuse":
                conn.struck = True
                _close(client)
                continue
            self._spawn(self._serve, conn)

    def _serve(self, conn: Connection) -> None:
        if not conn.fault.armed_by:
            conn.armed_at = 0
        try:
            conn.upstream = socket.create_connection(self.upstream, timeout=10)
        except OSError:
            _close(conn.client)
            return
        try:
            self._pump(conn, conn.upstream)
        except OSError:
            pass  # either side went away: the other learns it below, as a real network would tell it
        finally:
            _close(conn.client, abort=conn.struck and conn.fault.kind == "reset")
            _close(conn.upstream)

    def _pump(self, conn: Connection, upstream: socket.socket) -> None:
        """Both directions in one thread: a stall or a slow piece holds the whole connection, as a congested
        network does."""
        sides = {conn.client: ("up", upstream), upstream: ("down", conn.client)}
        while sides and not self._stopping.is_set():
            readable, _, _ = select.select(list(sides), [], [], _POLL)
            for source in readable:
                direction, target = sides[source]
                data = source.recv(_CHUNK)
                if not data:  # a half-close is passed on: the other direction may still have bytes to send
                    target.shutdown(socket.SHUT_WR)
                    del sides[source]
                    continue
                if direction == "up":
                    self._arm(conn, data)
                faulted = conn.armed_at is not None and conn.fault.kind != "pass" and conn.fault.direction == direction
                if not faulted:
                    target.sendall(data)
                    self._count(conn, direction, len(data))
                elif not self._forward_faulted(conn, direction, data, target):
                    return

    def _forward_faulted(self, conn: Connection, direction: Direction, data: bytes, target: socket.socket) -> bool:
        """Forwards `data` under the connection's fault; False once the connection is to be closed."""
        fault = conn.fault
        assert conn.armed_at is not None
        sent = (conn.down_bytes if direction == "down" else conn.up_bytes) - conn.armed_at
        before = max(0, min(len(data), fault.after_bytes - sent))
        if before:
            target.sendall(data[:before])
            self._count(conn, direction, before)
        rest = data[before:]
        if not rest:
            return True
        conn.struck = True
        if fault.kind in ("drop", "reset"):
            return False
        if fault.kind == "stall":
            if self._stopping.wait(fault.seconds):
                return False
            conn.fault = PASS  # the stall is over: the rest flows
            target.sendall(rest)
            self._count(conn, direction, len(rest))
            return True
        for start in range(0, len(rest), fault.piece):  # slow
            if self._stopping.wait(fault.seconds):
                return False
            piece = rest[start : start + fault.piece]
            target.sendall(piece)
            self._count(conn, direction, len(piece))
        return True

    def _arm(self, conn: Connection, data: bytes) -> None:
        if conn.armed_at is not None:
            return
        pattern = conn.fault.armed_by
        if pattern:
            seen = conn._tail + data
            conn._tail = seen[-len(pattern) :]
            if pattern not in seen:
                return
        # Counted from here: in the "up" direction this read is not forwarded yet, so it counts in.
        conn.armed_at = conn.down_bytes if conn.fault.direction == "down" else conn.up_bytes

    def _count(self, conn: Connection, direction: Direction, n: int) -> None:
        if direction == "down":
            conn.down_bytes += n
        else:
            conn.up_bytes += n


def _close(sock: socket.socket | None, *, abort: bool = False) -> None:
    """Closes with FIN, or with RST when `abort` (SO_LINGER on with a zero timeout)."""
    if sock is None:
        return
    try:
        if abort:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        else:
            sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()


@contextmanager
def running_proxy(upstream: tuple[str, int]) -> Iterator[FaultProxy]:
    proxy = FaultProxy(upstream)
    proxy.start()
    try:
        yield proxy
    finally:
        proxy.stop()
