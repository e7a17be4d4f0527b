"""Secrets at rest (mailbox passwords, OAuth refresh tokens): AES-256-GCM under a key derived from the
settings' secret key, so that a database dump or backup alone reveals no password.

- Key: HKDF-SHA256 over CRM_SECRET_KEY with a context label of its own, so this key is never the one that
  signs anything else derived from the same secret.
- Ciphertext: `v1.<key id>.<base64url(nonce + ciphertext + tag)>`. The key id (a short fingerprint of the
  derived key, not the key) says which key sealed it, so the secret key can change: former keys listed in
  CRM_PREVIOUS_SECRET_KEYS still open old secrets, and `rotate` re-seals them under the current key.
- Each secret is bound to where it lives (associated data such as `mailbox:<id>:password`): ciphertext
  copied into another row or column does not open there.

The keyring reaches services through the session factory (`install`, called by the composition root), the
way the acting user does, rather than a global; `keyring_of(session)` reads it back."""

import base64
import hashlib
import os
from collections.abc import Sequence

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy.orm import Session, sessionmaker

from crm_core.errors import CrmError
from crm_core.settings import Settings

VERSION = "v1"
_LABEL = b"crm_core.security.secrets: mailbox credentials at rest, v1"
_SALT = b"crm-secrets-at-rest"
_INFO_KEY = "secrets_keyring"


class SecretUnavailable(CrmError):
    """A stored secret cannot be opened: sealed with a key the server no longer has, or damaged."""

    status = 409
    title = "Secret unavailable"


def derive_key(secret_key: str) -> bytes:
    """The 256-bit encryption key for secrets at rest, derived from the settings' secret key."""
    if not secret_key:
        raise ValueError("an empty secret key cannot protect secrets")
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=_SALT, info=_LABEL)
    return hkdf.derive(secret_key.encode())


def key_id(key: bytes) -> str:
    """A short public fingerprint of a derived key (8 hex digits): names the key, reveals nothing of it."""
    return hashlib.sha256(b"key id:" + key).hexdigest()[:8]


class Keyring:
    """The current key (which seals) and former keys (which only open)."""

    def __init__(self, current_secret: str, previous_secrets: Sequence[str] = ()) -> None:
        self._current = derive_key(current_secret)
        self.current_id = key_id(self._current)
        self._keys = {key_id(k): k for k in (derive_key(s) for s in previous_secrets if s)}
        self._keys[self.current_id] = self._current

    def __repr__(self) -> str:
        return f"Keyring(current={self.current_id}, known={sorted(self._keys)})"

    @classmethod
    def from_settings(cls, settings: Settings) -> "Keyring":
        previous = [s.strip() for s in settings.previous_secret_keys.get_secret_value().split(",") if s.strip()]
        return cls(settings.resolved_secret_key(), previous)

    def seal(self, plaintext: str, context: str) -> str:
        """Encrypts `plaintext` for the place named by `context` (e.g. "mailbox:<id>:password")."""
        nonce = os.urandom(12)
        sealed = AESGCM(self._current).encrypt(nonce, plaintext.encode(), context.encode())
        return f"{VERSION}.{self.current_id}.{base64.urlsafe_b64encode(nonce + sealed).decode()}"

    def open(self, token: str, context: str) -> str:
        """The plaintext of a sealed secret; SecretUnavailable (never the token) when it cannot be opened."""
        version, kid, body = _parts(token)
        if version != VERSION:
            raise SecretUnavailable(f"a stored secret has an unknown format ({version}); enter it again")
        key = self._keys.get(kid)
        if key is None:
            raise SecretUnavailable(
                f"a stored secret was encrypted with key {kid}, which this server does not have: put the former "
                "secret key in CRM_PREVIOUS_SECRET_KEYS, or enter the password again", key_id=kid)
        try:
            raw = base64.urlsafe_b64decode(body.encode())
            return AESGCM(key).decrypt(raw[:12], raw[12:], context.encode()).decode()
        except (InvalidTag, ValueError) as exc:
            raise SecretUnavailable("a stored secret is damaged or belongs elsewhere; enter it again") from exc

    def is_current(self, token: str) -> bool:
        """Whether `token` is sealed under the current key (rotation skips those)."""
        return _parts(token)[1] == self.current_id

    def rotate(self, token: str, context: str) -> str:
        """The same secret sealed under the current key (unchanged if it already is)."""
        return token if self.is_current(token) else self.seal(self.open(token, context), context)


def _parts(token: str) -> tuple[str, str, str]:
    parts = token.split(".", 2)
    if len(parts) != 3:
        raise SecretUnavailable("a stored secret is not in a known format; enter it again")
    return parts[0], parts[1], parts[2]


def reveal(value: object) -> str | None:
    """A secret as given: a plain string, or pydantic's SecretStr from an API body."""
    if value is None or isinstance(value, str):
        return value
    getter = getattr(value, "get_secret_value", None)
    if getter is None:
        raise TypeError("a secret must be a string")
    return str(getter())


def install(factory: sessionmaker[Session], keyring: Keyring) -> sessionmaker[Session]:
    """Makes `keyring` available to every session of `factory` (services read it with `keyring_of`)."""
    info = dict(factory.kw.get("info") or {})
    info[_INFO_KEY] = keyring
    factory.configure(info=info)
    return factory


def keyring_of(session: Session) -> Keyring:
    keyring = session.info.get(_INFO_KEY)
    if not isinstance(keyring, Keyring):
        raise RuntimeError("no secrets keyring on this session: the composition root calls secrets.install()")
    return keyring
