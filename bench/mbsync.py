"""The IMAP sync benchmark's yardstick: `mbsync` (Debian's isync) pulling one IMAP account's INBOX into a
local Maildir, configured as a user would for a one-way copy, with its defaults otherwise (FSync yes: every
message file and the sync state are fsync'ed).

Far side: the IMAP server on loopback, plain (SSLType None, as our side connects too). Near side: a Maildir
in a scratch folder. `Sync Pull` takes new messages, flag changes and deletions from the server; `Expunge
Near` removes the deleted ones locally; `SyncState *` keeps the state in the Maildir itself."""

import shutil
import subprocess
import time
from pathlib import Path


def find_mbsync() -> str | None:
    return shutil.which("mbsync")


def version(binary: str) -> str:
    out = subprocess.run([binary, "--version"], capture_output=True, text=True, check=False)
    return (out.stdout or out.stderr).strip() or "unknown"


class Mbsync:
    """One mbsync set-up: its config file and its local Maildir under `workdir`."""

    def __init__(self, binary: str, workdir: Path, host: str, port: int, username: str, password: str) -> None:
        self.binary = binary
        self.workdir = workdir
        self.near = workdir / "mail"
        self.config = workdir / "mbsyncrc"
        workdir.mkdir(parents=True, exist_ok=True)
        self.config.write_text(f"""\
IMAPAccount bench
Host {host}
Port {port}
User {username}
Pass {password}
SSLType None
AuthMechs LOGIN

IMAPStore bench-far
Account bench

MaildirStore bench-near
Path {self.near}/
Inbox {self.near}/INBOX

Channel bench
Far :bench-far:
Near :bench-near:
Patterns INBOX
Sync Pull
Create Near
Expunge Near
SyncState *
""")
        self.config.chmod(0o600)

    def reset(self) -> None:
        """Back to never synced: no Maildir, no state."""
        shutil.rmtree(self.near, ignore_errors=True)
        self.near.mkdir()

    def settle(self) -> None:
        """Waits until the second after the local Maildir's last change. mbsync sleeps a second when it finds
        its Maildir changed in the current second (it could not tell a later change in that second apart); a
        periodic sync, minutes after the last, never does, so a benchmark should not either."""
        inbox = self.near / "INBOX"
        latest = max(((inbox / sub).stat().st_mtime for sub in ("cur", "new") if (inbox / sub).is_dir()),
                     default=0.0)
        wait = int(latest) + 1 - time.time()
        if wait > 0:
            time.sleep(wait + 0.01)

    def sync(self) -> float:
        """One `mbsync -a` run; its wall-clock seconds (the process's start and exit included)."""
        started = time.perf_counter()
        done = subprocess.run([self.binary, "-c", str(self.config), "-q", "-a"], capture_output=True, text=True,
                              check=False)
        elapsed = time.perf_counter() - started
        if done.returncode != 0:
            raise RuntimeError(f"mbsync failed ({done.returncode}): {done.stderr.strip() or done.stdout.strip()}")
        return elapsed

    def messages(self) -> int:
        """Messages in the local INBOX (ones marked deleted but not expunged would count as well)."""
        inbox = self.near / "INBOX"
        return sum(1 for sub in ("cur", "new") if (inbox / sub).is_dir() for _ in (inbox / sub).iterdir())

