"""`GraphFake`, what a test holds: the running server's addresses (base_url, graph_url, authority, ca_file), the
tenant (apps, consent, delegated grants, tokens), the mailboxes it fills and changes, the switches for trouble
(throttle, fail, delay, limits), subscriptions and the notifications sent, and the record of every request.
`running_graph(certificate)` starts one on 127.0.0.1 and a free port and stops it on exit."""

import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from tests.fakes.graph.delta import DeltaTokens
from tests.fakes.graph.dispatch import Dispatcher, Recorded
from tests.fakes.graph.entra import FakeApp, Tenant
from tests.fakes.graph.faults import FaultRule, Faults, Limits
from tests.fakes.graph.mailbox import FakeMailbox
from tests.fakes.graph.server import HttpsServer
from tests.fakes.graph.subscriptions import Delivery, Subscription, Subscriptions
from tests.mailbridge.tls import TestCertificate


class GraphFake:
    def __init__(self, certificate: TestCertificate, *, delay: float = 0.0, concurrency_limit: int = 4,
                 rate_limit: tuple[int, float] = (10000, 600.0)) -> None:
        self._lock = threading.RLock()
        self.certificate = certificate
        self._server = HttpsServer(self._handle, certificate.server_context())
        self.base_url = f"https://127.0.0.1:{self._server.port}"
        self.graph_url = self.base_url + "/v1.0"
        self._tenant = Tenant(self.base_url, self._lock, self._user_id)
        self._limits = Limits(self._lock)
        self._limits.concurrency_limit, self._limits.rate_limit = concurrency_limit, rate_limit
        self._dispatch = Dispatcher(self._lock, self._tenant, Faults(self._lock), self._limits,
                                    DeltaTokens(self._lock), self.graph_url, delay=delay)
        self._subscriptions = Subscriptions(self._lock, self._tenant.tenant_id, certificate.client_context(),
                                            self._dispatch.mailbox_for)
        self._dispatch.subscriptions = self._subscriptions

    # -- addresses -------------------------------------------------------------------------------------------
    @property
    def tenant_id(self) -> str:
        return self._tenant.tenant_id

    @property
    def authority(self) -> str:
        return f"{self.base_url}/{self.tenant_id}"

    @property
    def token_endpoint(self) -> str:
        return self._tenant.token_endpoint

    @property
    def ca_file(self) -> str:
        return str(self.certificate.cert_path)

    # -- the tenant ------------------------------------------------------------------------------------------
    def register_app(self, secret: str | None = None, certificate_pem: bytes | None = None) -> FakeApp:
        """An app registration with application permissions Mail.ReadWrite and Mail.Send, admin-consented."""
        return self._tenant.register_app(secret, certificate_pem)

    def revoke_admin_consent(self, app: FakeApp) -> None:
        """Its app-only tokens stop working (403), and new ones are refused (AADSTS65001)."""
        self._tenant.set_admin_consent(app, False)

    def grant_admin_consent(self, app: FakeApp) -> None:
        self._tenant.set_admin_consent(app, True)

    def restrict_app(self, app: FakeApp, mailboxes: Iterable[str]) -> None:
        """An application access policy: app-only requests to other mailboxes answer 403 ErrorAccessDenied."""
        with self._lock:
            app.allowed_mailboxes = frozenset(m.lower() for m in mailboxes)

    def api_token(self, api: FakeApp, user: str, **options: Any) -> str:
        """A signed v2.0 token for `api`'s own API (an add-in's single sign-on token): see Tenant.api_token."""
        return self._tenant.api_token(api, user, **options)

    def grant_delegated(self, app: FakeApp, user: str) -> str:
        """The user consents to the app (Mail.ReadWrite, Mail.Send, offline_access); returns a refresh token."""
        return self._tenant.grant_delegated(app, user)

    def revoke_delegated(self, app: FakeApp, user: str) -> None:
        """The user's consent is withdrawn: refreshing answers invalid_grant AADSTS65001."""
        self._tenant.revoke_delegated(app, user)

    def authorization_code(self, app: FakeApp, user: str) -> str:
        """A one-time code, as after the user signed in and consented at the authorize endpoint."""
        return self._tenant.authorization_code(app, user)

    def expire_access_tokens(self) -> None:
        """Every access token issued so far answers 401 InvalidAuthenticationToken (expired)."""
        self._tenant.expire_access_tokens()

    def revoke_refresh_tokens(self, user: str | None = None) -> None:
        """Refresh tokens issued so far (for one user, or all) answer invalid_grant AADSTS50173."""
        self._tenant.set_refresh_state("revoked", user)

    def expire_refresh_tokens(self, user: str | None = None) -> None:
        """Refresh tokens issued so far answer invalid_grant AADSTS700082 (expired by inactivity)."""
        self._tenant.set_refresh_state("expired", user)

    # -- mailboxes -------------------------------------------------------------------------------------------
    def add_mailbox(self, address: str) -> FakeMailbox:
        with self._lock:
            box = FakeMailbox(address.lower(), self._lock, self._subscriptions.on_change,
                              "FAKEPR01MB0001.eurprd00.prod.outlook.com")
            self._dispatch.mailboxes[box.address] = box
            return box

    def mailbox(self, address: str) -> FakeMailbox:
        return self._dispatch.mailboxes[address.lower()]

    def _user_id(self, address: str) -> str | None:
        box = self._dispatch.mailboxes.get(address.lower())
        return box.user_id if box else None

    # -- trouble ---------------------------------------------------------------------------------------------
    def throttle(self, times: int = 1, retry_after: float | None = 2, status: int = 429,
                 match: str | None = None) -> None:
        """The next `times` requests (only those whose path contains `match`, if given) answer 429 with
        Retry-After (None: without). Applies to requests inside a $batch one by one."""
        self._dispatch.faults.add(FaultRule(times, status, retry_after, match))

    def fail(self, times: int = 1, status: int = 503, retry_after: float | None = None,
             match: str | None = None) -> None:
        """The next `times` requests answer `status` (503 by default), with Retry-After if given."""
        self._dispatch.faults.add(FaultRule(times, status, retry_after, match))

    @property
    def delay(self) -> float:
        return self._dispatch.delay

    @delay.setter
    def delay(self, seconds: float) -> None:
        self._dispatch.delay = seconds

    @property
    def concurrency_limit(self) -> int:
        return self._limits.concurrency_limit

    @concurrency_limit.setter
    def concurrency_limit(self, value: int) -> None:
        self._limits.concurrency_limit = value

    @property
    def rate_limit(self) -> tuple[int, float]:
        return self._limits.rate_limit

    @rate_limit.setter
    def rate_limit(self, value: tuple[int, float]) -> None:
        self._limits.rate_limit = value

    @property
    def max_in_flight(self) -> int:
        return self._limits.max_in_flight

    # -- record ----------------------------------------------------------------------------------------------
    @property
    def requests(self) -> list[Recorded]:
        with self._lock:
            return list(self._dispatch.records)

    def clear_requests(self) -> None:
        with self._lock:
            self._dispatch.records.clear()

    # -- subscriptions ---------------------------------------------------------------------------------------
    @property
    def subscriptions(self) -> list[Subscription]:
        with self._lock:
            return list(self._subscriptions.items.values())

    @property
    def notifications(self) -> list[Delivery]:
        """Every change or lifecycle notification POSTed, with the receiver's answer."""
        with self._lock:
            return list(self._subscriptions.deliveries)

    def lifecycle(self, subscription_id: str, event: str) -> int | None:
        return self._subscriptions.lifecycle(subscription_id, event)

    def drain_notifications(self, timeout: float = 10.0) -> bool:
        """Wait until the change notifications queued so far were delivered."""
        return self._subscriptions.drain(timeout)

    # -- running ---------------------------------------------------------------------------------------------
    def _handle(self, method: str, path: str, params: dict[str, str], headers: dict[str, str], body: bytes) -> Any:
        return self._dispatch.handle_http(method, path, params, headers, body)

    def start(self) -> None:
        self._server.start()

    def stop(self) -> None:
        self._server.stop()
        self._subscriptions.close()


@contextmanager
def running_graph(certificate: TestCertificate, **options: Any) -> Iterator[GraphFake]:
    """A fake Graph + Entra ID on https://127.0.0.1:PORT, trusted through `certificate`; stopped on exit."""
    fake = GraphFake(certificate, **options)
    fake.start()
    try:
        yield fake
    finally:
        fake.stop()
