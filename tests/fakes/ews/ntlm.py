"""NTLM for the fake EWS server, as IIS does it for Exchange: a handshake per TCP connection (NEGOTIATE, then
CHALLENGE in a 401, then AUTHENTICATE with the request again), after which the connection stays authenticated.
pyspnego (the library requests_ntlm uses on the client side) is the acceptor; it checks passwords against the
credential file named by the NTLM_USER_FILE environment variable ("DOMAIN:user:password" lines), which
`NtlmUsers` writes and points the variable at while the fake runs."""

import base64
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import spnego
from spnego.exceptions import SpnegoError

NEGOTIATE, AUTHENTICATE = 1, 3


@dataclass
class NtlmConnection:
    """One TCP connection's NTLM state."""

    context: Any = None
    user: str | None = None  # DOMAIN\user once authenticated


class NtlmUsers:
    def __init__(self, path: Path) -> None:
        self.path = path

    def add(self, login: str, password: str) -> None:
        domain, _, user = login.rpartition("\\")
        with self.path.open("a") as users:
            users.write(f"{domain}:{user}:{password}\n")


@contextmanager
def ntlm_users() -> Iterator[NtlmUsers]:
    """A credential file, named by NTLM_USER_FILE until the block ends (the previous value then restored)."""
    handle, name = tempfile.mkstemp(prefix="fake-ews-ntlm-")
    os.close(handle)
    before = os.environ.get("NTLM_USER_FILE")
    os.environ["NTLM_USER_FILE"] = name
    try:
        yield NtlmUsers(Path(name))
    finally:
        if before is None:
            os.environ.pop("NTLM_USER_FILE", None)
        else:
            os.environ["NTLM_USER_FILE"] = before
        Path(name).unlink(missing_ok=True)


def step(connection: NtlmConnection, token_b64: str) -> tuple[bytes | None, str | None]:
    """One handshake message in: (the CHALLENGE to send back, None), (None, the authenticated login), or
    (None, None) when the client failed to authenticate."""
    try:
        token = base64.b64decode(token_b64)
    except ValueError:
        return None, None
    kind = int.from_bytes(token[8:12], "little") if token.startswith(b"NTLMSSP\x00") else 0
    try:
        if kind == NEGOTIATE:
            connection.context = spnego.server(protocol="ntlm")
            return connection.context.step(token), None
        if kind == AUTHENTICATE and connection.context is not None:
            connection.context.step(token)
            connection.user = str(connection.context.client_principal)
            return None, connection.user
    except SpnegoError:
        connection.context = None
    return None, None
