"""The signing keys of Entra ID tenants, as their v2.0 OpenID configuration publishes them (its `jwks_uri`).

Keys are kept per tenant and fetched again when a token names a key we do not hold (Entra rolls its keys over
without notice) or after a day. An unknown `kid` costs at most one fetch per tenant per minute, so a caller
inventing key ids cannot make us hammer Entra ID."""

import threading
import time
from dataclasses import dataclass, field

import httpx
import jwt

from crm_core.errors import CrmError
from crm_core.models.mailboxes import ENTRA_URL

MAX_AGE = 24 * 3600.0
MIN_REFETCH = 60.0


class SigningKeysUnavailable(CrmError):
    """Entra ID did not give us the keys: nobody can sign in right now, which is not the caller's fault."""

    status = 503
    title = "Service unavailable"


@dataclass
class _TenantKeys:
    keys: dict[str, jwt.PyJWK]
    fetched_at: float


@dataclass
class SigningKeys:
    authority_url: str = ENTRA_URL
    client: httpx.Client = field(default_factory=lambda: httpx.Client(timeout=10.0))
    max_age: float = MAX_AGE
    min_refetch: float = MIN_REFETCH
    _tenants: dict[str, _TenantKeys] = field(default_factory=dict, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def issuer(self, tenant_id: str) -> str:
        """The `iss` of the tenant's v2.0 tokens."""
        return f"{self.authority_url.rstrip('/')}/{tenant_id}/v2.0"

    def get(self, tenant_id: str, kid: str) -> jwt.PyJWK | None:
        """The key `kid` of the tenant, fetching the tenant's keys when they are missing, old, or lack `kid`;
        None if the tenant does not publish such a key."""
        with self._lock:  # one fetch at a time; the others then find the fresh keys
            now = time.monotonic()
            cached = self._tenants.get(tenant_id)
            age = None if cached is None else now - cached.fetched_at
            if cached is not None and age is not None and age < self.max_age \
                    and (kid in cached.keys or age < self.min_refetch):
                return cached.keys.get(kid)
            cached = _TenantKeys(self._fetch(tenant_id), now)
            self._tenants[tenant_id] = cached
            return cached.keys.get(kid)

    def _fetch(self, tenant_id: str) -> dict[str, jwt.PyJWK]:
        where = f"{self.issuer(tenant_id)}/.well-known/openid-configuration"
        try:
            config = self.client.get(where)
            config.raise_for_status()
            jwks_uri = config.json()["jwks_uri"]
            answer = self.client.get(jwks_uri)
            answer.raise_for_status()
            found = jwt.PyJWKSet.from_dict(answer.json())
        except (httpx.HTTPError, ValueError, KeyError, TypeError, jwt.PyJWTError) as exc:
            raise SigningKeysUnavailable(f"cannot read the signing keys of Entra ID tenant {tenant_id} "
                                         f"({type(exc).__name__}: {exc}); try again shortly") from exc
        return {key.key_id: key for key in found.keys if key.key_id}

    def close(self) -> None:
        self.client.close()
