"""One EWS session: the exchangelib `Account` for the mailbox on a protocol of our own, and `call()`, which runs
one EWS step with our errors and our throttling policy.

The protocol. exchangelib keeps one `Protocol` per endpoint and login for the whole process (a metaclass cache)
and takes its HTTP adapter from a class attribute, `BaseProtocol.HTTP_ADAPTER_CLS`; setting that attribute would
change every EWS connection in the process. Instead each session has an `EwsProtocol` of its own: outside the
cache (so its connections close with the session, and a test's private CA reaches no other session), with our
timeout, and mounting, on every session exchangelib opens (EWS and the token endpoint alike), an adapter that
verifies TLS with the caller's `ssl.SSLContext`. Without a context, exchangelib's default (certifi) applies.
`Account(...)` still makes the cached protocol it would use; ours replaces it at once and the cache entry it
caused is dropped again (no connection was ever opened on it).

Throttling. The retry policy is exchangelib's FailFast, so ErrorServerBusy reaches us: a back-off up to
`max_back_off` seconds is waited out and the step tried again (at most `busy_retries` times); a longer one, or
one more, stops with TemporaryFailure carrying the server's wait. A connection the server dropped is tried once
more on a fresh one, for steps that can safely run twice (not a send). Nothing is retried at once otherwise.

Autodiscover (no service URL; Basic and NTLM only) is exchangelib's, with the system's trust store and its own
cache of answers: a private CA applies to EWS itself, not to the discovery."""

import logging
import time
from collections.abc import Callable
from contextlib import suppress
from typing import Any, TypeVar
from urllib.parse import urlsplit

import requests.adapters
from exchangelib import DELEGATE, IMPERSONATION, UTC, Account, Configuration, FailFast, Identity, OAuth2Credentials
from exchangelib.credentials import BaseCredentials, Credentials
from exchangelib.protocol import CachingProtocol, Protocol
from exchangelib.transport import BASIC, NTLM, OAUTH2

from mailbridge.errors import ConnectionFailed, TemporaryFailure
from mailbridge.sources.ews.errors import ews_errors
from mailbridge.sources.ews.settings import EwsSettings

log = logging.getLogger(__name__)
T = TypeVar("T")
AUTH_TYPES = {"basic": BASIC, "ntlm": NTLM, "oauth": OAUTH2}


class _ContextAdapter(requests.adapters.HTTPAdapter):
    """Verifies the server with the given SSL context (and only with it: requests' certifi bundle is kept out of
    it, so the context is not changed)."""

    def __init__(self, ssl_context: Any, **kwargs: Any) -> None:
        self._ssl_context = ssl_context
        super().__init__(**kwargs)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, ssl_context=self._ssl_context, **kwargs)

    def build_connection_pool_key_attributes(self, request: Any, verify: Any, cert: Any = None) -> Any:
        host_params, pool_kwargs = super().build_connection_pool_key_attributes(request, verify, cert)
        pool_kwargs["ssl_context"] = self._ssl_context
        return host_params, pool_kwargs

    def cert_verify(self, conn: Any, url: str, verify: Any, cert: Any) -> None:
        super().cert_verify(conn, url, verify, cert)
        conn.ca_certs = conn.ca_cert_dir = None


class _Uncached(CachingProtocol):
    """A protocol metaclass without exchangelib's process-wide cache: every call makes a new protocol."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return type.__call__(self, *args, **kwargs)


class EwsProtocol(Protocol, metaclass=_Uncached):
    def __init__(self, *, config: Configuration, settings: EwsSettings) -> None:
        super().__init__(config=config)
        self.TIMEOUT = settings.timeout  # read through the instance by every request exchangelib sends
        self._ssl_context = settings.ssl_context

    def raw_session(self, prefix: str, oauth2_client: Any = None, oauth2_session_params: Any = None,
                    oauth2_token_endpoint: Any = None) -> Any:
        # A classmethod in exchangelib, always called on the protocol instance: this is where a session gets
        # its adapters, for the EWS URL and the token endpoint.
        session = super().raw_session(prefix, oauth2_client, oauth2_session_params, oauth2_token_endpoint)
        if self._ssl_context is not None:
            for url in filter(None, (prefix, oauth2_token_endpoint)):
                session.mount(url, _ContextAdapter(self._ssl_context, pool_block=True, pool_connections=1,
                                                   pool_maxsize=1, max_retries=0))
        return session


class _AuthorityCredentials(OAuth2Credentials):
    """Client credentials from the connection's authority, for the EWS server's own resource (Exchange Online's
    https://outlook.office365.com, or an on-premises server's external URL under hybrid modern auth)."""

    def __init__(self, *, authority_url: str, resource: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.authority_url, self.resource = authority_url.rstrip("/"), resource

    @property
    def token_url(self) -> str:
        return f"{self.authority_url}/{self.tenant_id}/oauth2/v2.0/token"

    @property
    def scope(self) -> list[str]:
        return [f"{self.resource}/.default"]


def _credentials(settings: EwsSettings, service_url: str) -> BaseCredentials:
    if settings.auth_type == "oauth":
        parts = urlsplit(service_url)
        return _AuthorityCredentials(
            authority_url=settings.authority_url, resource=f"{parts.scheme}://{parts.netloc}",
            client_id=settings.client_id, client_secret=settings.client_secret, tenant_id=settings.tenant_id,
            identity=Identity(primary_smtp_address=settings.address))
    return Credentials(settings.username or settings.address, settings.password or "")


def _discover(settings: EwsSettings) -> str:
    account = Account(settings.address, credentials=Credentials(settings.username or settings.address,
                                                                settings.password or ""),
                      autodiscover=True, access_type=DELEGATE, default_timezone=UTC)
    return str(account.protocol.service_endpoint)


def build_account(settings: EwsSettings) -> tuple[Account, EwsProtocol]:
    """The mailbox's Account on a protocol of its own (no request is sent yet, unless to autodiscover)."""
    service_url = settings.service_url or _discover(settings)
    credentials = _credentials(settings, service_url)
    config = Configuration(credentials=credentials, service_endpoint=service_url,
                           auth_type=AUTH_TYPES[settings.auth_type], retry_policy=FailFast(), max_connections=1)
    cached_before = _cached(config)
    account = Account(settings.address, config=config, autodiscover=False, default_timezone=UTC,
                      access_type=IMPERSONATION if settings.auth_type == "oauth" else DELEGATE)
    made, account.protocol = account.protocol, EwsProtocol(config=config, settings=settings)
    if cached_before is None and _cached(config) is made:
        with suppress(KeyError):
            del Protocol[config]
    return account, account.protocol


def _cached(config: Configuration) -> Any:
    try:
        return Protocol[config][0]
    except KeyError:
        return None


class EwsSession:
    """Opened by `open()` (or `with`), closed by `close()`; `account` is valid in between."""

    def __init__(self, settings: EwsSettings, sleep: Callable[[float], None] = time.sleep) -> None:
        self.settings = settings
        self.where = settings.where
        self._sleep = sleep
        self._account: Account | None = None
        self._protocol: EwsProtocol | None = None

    @property
    def account(self) -> Account:
        if self._account is None:
            raise RuntimeError("the EWS session is not open")
        return self._account

    def open(self) -> None:
        with ews_errors(self.where, "connecting"):
            self._account, self._protocol = build_account(self.settings)
        if self.settings.service_url is None:
            self.where = urlsplit(str(self._protocol.service_endpoint)).netloc

    def close(self) -> None:
        if self._protocol is not None:
            self._protocol.close()
        self._account = self._protocol = None

    def __enter__(self) -> "EwsSession":
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def call(self, action: str, step: Callable[[Account], T], *, repeatable: bool = True) -> T:
        """`step(account)` with our errors, waiting out short back-offs; see the module's docstring."""
        waits, redialled = 0, False
        while True:
            try:
                with ews_errors(self.where, action):
                    return step(self.account)
            except TemporaryFailure as exc:
                if exc.reason == "throttled":
                    wait = exc.retry_after
                    if wait is None or wait > self.settings.max_back_off or waits >= self.settings.busy_retries:
                        raise
                    waits += 1
                    log.info("%s throttles %s; waiting %.1f s as it asks", self.where, action, wait)
                    self._sleep(wait)
                    continue
                if isinstance(exc, ConnectionFailed) and exc.reason == "connect" and repeatable and not redialled:
                    redialled = True  # a kept-alive connection the server had closed: once more, on a new one
                    continue
                raise
