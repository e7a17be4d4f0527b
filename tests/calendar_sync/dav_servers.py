"""Real CalDAV servers for the calendar tests, each in its own temporary folder on 127.0.0.1 and a free port,
started once per session and stopped at the end; a fresh, empty calendar collection per test.

- Radicale: htpasswd authentication (plain entries, so the password is really checked), multifilesystem
  storage, owner-only rights, over plain HTTP.
- Xandikos: HTTP Basic against an htpasswd file, which Xandikos only allows over HTTPS (--autocert): the
  fixture writes its own certificate for 127.0.0.1 where Xandikos looks for one, and the client trusts exactly
  that certificate (`verify`), so TLS is verified for real too."""

import base64
import datetime as dt
import hashlib
import importlib.util
import ipaddress
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import caldav
from caldav.elements import cdav, dav
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from lxml import etree

from tests.mailbridge.dovecot import free_port
from tests.servers import missing


@dataclass
class DavServer:
    """One running CalDAV server as a test sees it. `new_calendar()` makes an empty calendar collection in
    the user's calendar home and returns its URL."""

    name: str
    base_url: str  # the server root, e.g. http://127.0.0.1:5232/
    username: str
    password: str
    home_path: str  # the user's calendar home, where new calendars go
    verify: bool | str = True  # what the client trusts: True, or the path of the test certificate
    _client: caldav.DAVClient | None = field(default=None, repr=False)

    def client(self) -> caldav.DAVClient:
        if self._client is None:
            self._client = caldav.DAVClient(url=self.base_url, username=self.username, password=self.password,
                                            ssl_verify_cert=self.verify, timeout=10)
        return self._client

    def new_calendar(self, display_name: str = "Test calendar") -> str:
        url = f"{self.base_url.rstrip('/')}{self.home_path}{uuid.uuid4().hex}/"
        props = dav.Prop().append([dav.DisplayName(display_name),
                                   cdav.SupportedCalendarComponentSet().append(cdav.Comp("VEVENT"))])
        body = etree.tostring(cdav.Mkcalendar().append(dav.Set().append(props)).xmlelement(), encoding="utf-8",
                              xml_declaration=True)
        response = self.client().mkcalendar(url, body.decode("utf-8"))
        if response.status != 201:
            raise RuntimeError(f"{self.name}: MKCALENDAR {url} answered {response.status} {response.raw}")
        return url

    def close(self) -> None:
        if self._client is not None:
            self._client.close()


class _ServerProcess:
    """A server subprocess: started, waited for until its port answers, stopped and its folder removed."""

    def __init__(self, name: str, root: Path, port: int) -> None:
        self.name, self.root, self.port = name, root, port
        self.log_path = root / "server.log"
        self._process: subprocess.Popen[bytes] | None = None

    def start(self, argv: list[str]) -> None:
        with self.log_path.open("wb") as log:
            self._process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, cwd=self.root)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"{self.name} exited: {self.log()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"{self.name} did not start listening: {self.log()}")

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        shutil.rmtree(self.root, ignore_errors=True)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def run_radicale() -> Iterator[DavServer]:
    if importlib.util.find_spec("radicale") is None:
        missing("Radicale", "pip install radicale")
    root = Path(tempfile.mkdtemp(prefix="crm-radicale-"))
    port = free_port()
    username, password = "alice", uuid.uuid4().hex
    (root / "users").write_text(f"{username}:{password}\n")
    (root / "config").write_text(f"""\
[server]
hosts = 127.0.0.1:{port}

[auth]
type = htpasswd
htpasswd_filename = {root / "users"}
htpasswd_encryption = plain
# No pause after a wrong password: the tests try one on purpose.
delay = 0

[rights]
type = owner_only

[storage]
type = multifilesystem
filesystem_folder = {root / "collections"}

[web]
type = none

[logging]
level = warning
""")
    process = _ServerProcess("Radicale", root, port)
    server = DavServer("Radicale", f"http://127.0.0.1:{port}/", username, password, f"/{username}/")
    try:
        process.start([sys.executable, "-m", "radicale", "--config", str(root / "config")])
        yield server
    finally:
        server.close()
        process.stop()


def run_xandikos() -> Iterator[DavServer]:
    if importlib.util.find_spec("xandikos") is None:
        missing("Xandikos", "pip install xandikos")
    root = Path(tempfile.mkdtemp(prefix="crm-xandikos-"))
    port = free_port()
    username, password = "alice", uuid.uuid4().hex
    # Xandikos reads bcrypt or {SHA} entries; SHA1 is enough for a throw-away test password.
    digest = base64.b64encode(hashlib.sha1(password.encode(), usedforsecurity=False).digest()).decode()
    (root / "htpasswd").write_text(f"{username}:{{SHA}}{digest}\n")
    # --autocert reuses a certificate it finds in <state-dir>/certs; its own names only the host as a DNS
    # name, which a client cannot verify for 127.0.0.1, so ours (with the IP address) goes there first.
    cert_path = _write_certificate(root / "state" / "certs")
    process = _ServerProcess("Xandikos", root, port)
    server = DavServer("Xandikos", f"https://127.0.0.1:{port}/", username, password, "/user/calendars/",
                       verify=str(cert_path))
    try:
        process.start([sys.executable, "-m", "xandikos.web", "--directory", str(root / "data"), "--defaults",
                       "--listen-address", "127.0.0.1", "--port", str(port), "--state-dir", str(root / "state"),
                       "--autocert", "--htpasswd", str(root / "htpasswd"), "--no-detect-systemd"])
        yield server
    finally:
        server.close()
        process.stop()


def _write_certificate(directory: Path) -> Path:
    """A self-signed certificate for 127.0.0.1 under the names Xandikos's --autocert looks for. It is valid
    for 90 days because Xandikos replaces one that expires within 30 (tests.mailbridge.tls's lasts two)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=90))
        .add_extension(x509.SubjectAlternativeName(
            [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    directory.mkdir(parents=True, mode=0o700)
    cert_path = directory / "selfsigned.crt"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (directory / "selfsigned.key").write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    return cert_path
