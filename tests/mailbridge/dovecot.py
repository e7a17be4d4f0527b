"""A private Dovecot for the tests: its own config, accounts, Maildir storage, logs and TLS certificate in a
temporary folder, listening on 127.0.0.1 on free ports; never the system service.

`DovecotServer(extensions="none")` advertises neither CONDSTORE nor QRESYNC, so the IMAP connector's full
UID comparison runs against a real server too; `extensions="condstore"` offers CONDSTORE without QRESYNC."""

import grp
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path
from typing import Literal

from tests.mailbridge.tls import TestCertificate, make_certificate

# What Dovecot 2.3 advertises after login, minus the RFC 7162 extensions.
_NO_MODSEQ_CAPABILITIES = (
    "IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE SORT SORT=DISPLAY THREAD=REFERENCES THREAD=REFS "
    "THREAD=ORDEREDSUBJECT MULTIAPPEND URL-PARTIAL CATENATE UNSELECT CHILDREN NAMESPACE UIDPLUS LIST-EXTENDED "
    "I18NLEVEL=1 ESEARCH ESORT SEARCHRES WITHIN CONTEXT=SEARCH LIST-STATUS BINARY MOVE SNIPPET=FUZZY "
    "PREVIEW=FUZZY PREVIEW STATUS=SIZE SAVEDATE LITERAL+ NOTIFY SPECIAL-USE"
)


def find_dovecot() -> str | None:
    """The dovecot binary, which lives in /usr/sbin (often not on a non-root PATH)."""
    return shutil.which("dovecot") or next(
        (p for p in ("/usr/sbin/dovecot", "/usr/local/sbin/dovecot") if os.access(p, os.X_OK)), None
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class DovecotServer:
    """One running Dovecot. `add_user()` makes a fresh account (passwd-file is re-read when it changes)."""

    def __init__(self, binary: str, *, extensions: Literal["qresync", "condstore", "none"] = "qresync") -> None:
        self.binary = binary
        self.extensions = extensions
        self.host = "127.0.0.1"
        self.port = free_port()
        self.tls_port = free_port()
        # Not under pytest's 0700 tmp tree: Dovecot's mail processes run as an unprivileged user.
        self.root = Path(tempfile.mkdtemp(prefix="crm-dovecot-"))
        self.root.chmod(0o755)
        self.certificate: TestCertificate = make_certificate(self.root / "tls")
        self.log_path = self.root / "dovecot.log"
        self.password = uuid.uuid4().hex
        self._process: subprocess.Popen[bytes] | None = None

    # -- life cycle ----------------------------------------------------------------------------------------
    def start(self) -> None:
        mail_user, internal_user, login_user = self._accounts()
        mail = pwd.getpwnam(mail_user)
        (self.root / "mail").mkdir()
        os.chown(self.root / "mail", mail.pw_uid, mail.pw_gid)
        config = self.root / "dovecot.conf"
        config.write_text(self._config(mail.pw_uid, mail.pw_gid, internal_user, login_user))
        self._process = subprocess.Popen(
            [self.binary, "-F", "-c", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"dovecot exited: {self._process.stderr.read().decode()} {self.log()}")  # type: ignore[union-attr]
            if self._listening(self.port) and self._listening(self.tls_port):
                return
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"dovecot did not start listening: {self.log()}")

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

    # -- accounts ------------------------------------------------------------------------------------------
    def add_user(self) -> tuple[str, str]:
        """A new empty account; returns (username, password). The static passdb accepts any name with the
        server's password (passwd-file is only re-read once a second, too slow for a user per test), and
        Dovecot creates the Maildir on first login."""
        return f"u{uuid.uuid4().hex[:10]}", self.password

    # -- internals -----------------------------------------------------------------------------------------
    def _listening(self, port: int) -> bool:
        try:
            with socket.create_connection((self.host, port), timeout=0.2):
                return True
        except OSError:
            return False

    @staticmethod
    def _accounts() -> tuple[str, str, str]:
        """(mail user, internal user, login user): Debian's dovecot/dovenull as root, ourselves otherwise."""
        if os.geteuid() == 0:
            return "nobody", "dovecot", "dovenull"
        me = pwd.getpwuid(os.geteuid()).pw_name
        return me, me, me

    def _config(self, uid: int, gid: int, internal_user: str, login_user: str) -> str:
        root = self.root
        dh = Path("/usr/share/dovecot/dh.pem")
        capability = {
            "qresync": "",
            "condstore": f"imap_capability = {_NO_MODSEQ_CAPABILITIES} CONDSTORE\n",
            "none": f"imap_capability = {_NO_MODSEQ_CAPABILITIES}\n",
        }[self.extensions]
        return f"""\
instance_name = crm-test-{self.port}
base_dir = {root}/run
state_dir = {root}/state
protocols = imap
listen = {self.host}
log_path = {self.log_path}
info_log_path = {self.log_path}
ssl = yes
ssl_cert = <{self.certificate.cert_path}
ssl_key = <{self.certificate.key_path}
{f"ssl_dh = <{dh}" if dh.exists() else ""}
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
default_internal_user = {internal_user}
default_internal_group = {grp.getgrgid(pwd.getpwnam(internal_user).pw_gid).gr_name}
default_login_user = {login_user}
first_valid_uid = {uid}
first_valid_gid = {gid}
mail_location = maildir:{root}/mail/%u
mail_fsync = never
{capability}
passdb {{
  driver = static
  args = password={self.password}
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={root}/mail/%u
}}
namespace inbox {{
  inbox = yes
  separator = /
  mailbox Sent {{
    special_use = \\Sent
    auto = subscribe
  }}
  mailbox Archive {{
    special_use = \\Archive
  }}
}}
service imap-login {{
  inet_listener imap {{
    address = {self.host}
    port = {self.port}
  }}
  inet_listener imaps {{
    address = {self.host}
    port = {self.tls_port}
    ssl = yes
  }}
}}
service stats {{
  unix_listener stats-reader {{
    mode = 0600
  }}
  unix_listener stats-writer {{
    mode = 0666
  }}
}}
"""
