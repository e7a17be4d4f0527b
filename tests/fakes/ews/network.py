"""A private network for autodiscover tests: a DNS server and an HTTP proxy on loopback, so that exchangelib's
real Autodiscovery (DNS lookups with dnspython, then HTTPS on port 443 of the names it found) reaches the fake
Exchange server without touching the machine's DNS or needing port 443.

  DNS    A records (each name the fake serves, as 127.0.0.1) and SRV records (_autodiscover._tcp.<domain>),
         NXDOMAIN for any other name: answered with dnspython's message API over UDP on a free port.
  proxy  HTTP CONNECT to <name>:443 of a name in the zone is tunnelled to the fake's port, as a gateway in front
         of a real Exchange server would; TLS stays end to end, so the client checks the certificate against the
         name it asked for (tests.mailbridge.tls.make_certificate makes one valid for those names). Anything else: 502.

A test points exchangelib at them with its own hooks: `Autodiscovery.DNS_RESOLVER_ATTRS` (nameservers, port)
and the proxy and CA bundle variables requests reads (HTTPS_PROXY, NO_PROXY, REQUESTS_CA_BUNDLE)."""

import select
import socket
import socketserver
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field

import dns.message
import dns.rcode
import dns.rdatatype
import dns.rrset

LOOPBACK = "127.0.0.1"


@dataclass
class Zone:
    """The names the network knows: `hosts` (name -> the loopback port serving its 443) and SRV records."""

    hosts: dict[str, int] = field(default_factory=dict)
    srv: dict[str, list[str]] = field(default_factory=dict)  # "_autodiscover._tcp.x" -> ["0 0 443 mail.x."]

    def answer(self, wire: bytes) -> bytes:
        query = dns.message.from_wire(wire)
        response = dns.message.make_response(query)
        question = query.question[0]
        name = question.name.to_text(omit_final_dot=True).lower()
        records = {dns.rdatatype.A: [LOOPBACK]} if name in self.hosts else {}
        if name in self.srv:
            records[dns.rdatatype.SRV] = self.srv[name]
        if not records:
            response.set_rcode(dns.rcode.NXDOMAIN)
        elif question.rdtype in records:  # a name with other records only: an empty answer (NoAnswer)
            response.answer.append(
                dns.rrset.from_text_list(
                    question.name, 60, "IN", dns.rdatatype.to_text(question.rdtype), records[question.rdtype]
                )
            )
        return response.to_wire()


class _Dns(socketserver.ThreadingUDPServer):
    daemon_threads = True

    def __init__(self, zone: Zone) -> None:
        self.zone = zone
        super().__init__((LOOPBACK, 0), _DnsHandler)


class _DnsHandler(socketserver.BaseRequestHandler):
    server: _Dns

    def handle(self) -> None:
        data, sock = self.request
        sock.sendto(self.server.zone.answer(data), self.client_address)


class _Proxy(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, zone: Zone) -> None:
        self.zone = zone
        self.tunnels: list[socket.socket] = []  # closed when the network stops, so no tunnel outlives it
        self.lock = threading.Lock()
        self.connects: list[str] = []  # host:port of each CONNECT asked for, in order
        super().__init__((LOOPBACK, 0), _ProxyHandler)

    def close_tunnels(self) -> None:
        with self.lock:
            for sock in self.tunnels:
                with suppress(OSError):
                    sock.close()


class _ProxyHandler(socketserver.BaseRequestHandler):
    server: _Proxy

    def handle(self) -> None:
        client: socket.socket = self.request
        head = b""
        while b"\r\n\r\n" not in head and len(head) < 8192:
            chunk = client.recv(4096)
            if not chunk:
                return
            head += chunk
        method, target, *_ = head.split(b"\r\n", 1)[0].decode("latin-1").split(" ")
        host, _, port = target.rpartition(":")
        local_port = self.server.zone.hosts.get(host.lower()) if method == "CONNECT" and port == "443" else None
        with self.server.lock:
            self.server.connects.append(target)
        if local_port is None:
            client.sendall(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            return
        upstream = socket.create_connection((LOOPBACK, local_port), timeout=10)
        with self.server.lock:
            self.server.tunnels.extend((client, upstream))
        client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        _pump(client, upstream)


def _pump(a: socket.socket, b: socket.socket) -> None:
    """Copies bytes both ways until either side closes."""
    peers = {a: b, b: a}
    with suppress(OSError, ValueError):
        while True:
            ready, _, _ = select.select(list(peers), [], [], 30)
            if not ready:
                return
            for sock in ready:
                data = sock.recv(65536)
                if not data:
                    return
                peers[sock].sendall(data)


@dataclass
class FakeNetwork:
    zone: Zone
    dns_port: int
    proxy_url: str
    connects: list[str]


@contextmanager
def running_network(zone: Zone) -> Iterator[FakeNetwork]:
    """The DNS server and the proxy on free loopback ports, stopped on leaving. The zone may change meanwhile."""
    dns_server, proxy = _Dns(zone), _Proxy(zone)
    threads = [
        threading.Thread(target=s.serve_forever, args=(0.05,), name=name, daemon=True)
        for s, name in ((dns_server, "fake-dns"), (proxy, "fake-proxy"))
    ]
    for thread in threads:
        thread.start()
    try:
        yield FakeNetwork(
            zone, dns_server.server_address[1], f"http://{LOOPBACK}:{proxy.server_address[1]}", proxy.connects
        )
    finally:
        for server in (dns_server, proxy):
            server.shutdown()
            server.server_close()
        proxy.close_tunnels()
        for thread in threads:
            thread.join(timeout=10)
