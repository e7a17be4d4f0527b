"""A stand-in for an app's notification endpoint, for tests of subscriptions: HTTPS on 127.0.0.1 with the test
certificate, answering Graph's validation request (`?validationToken=...` -> 200 text/plain echo) when
`validate` is on, and keeping every notification body it is sent. The production endpoint will be the CRM's own;
this one lets the fake's side be tested, and a client's subscription code be tested without it."""

import json
import threading
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from tests.fakes.graph.replies import Reply
from tests.fakes.graph.server import HttpsServer
from tests.mailbridge.tls import TestCertificate


class WebhookReceiver:
    def __init__(self, certificate: TestCertificate) -> None:
        self.validate = True  # off: validation requests get 403, so Graph refuses the subscription
        self.status = 202  # what notifications are answered with
        self.validations: list[str] = []
        self.received: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._server = HttpsServer(self._handle, certificate.server_context())
        self.url = f"https://127.0.0.1:{self._server.port}/notify"

    def _handle(self, method: str, path: str, params: dict[str, str], headers: dict[str, str], body: bytes) -> Reply:
        if "validationToken" in params:
            with self._lock:
                self.validations.append(params["validationToken"])
            if not self.validate:
                return Reply(403, {"Content-Type": "text/plain"}, b"no")
            return Reply(200, {"Content-Type": "text/plain; charset=utf-8"}, params["validationToken"].encode())
        with self._lock:
            self.received.append(json.loads(body))
        return Reply(self.status, {}, b"")

    def url_for(self, name: str) -> str:
        return f"https://127.0.0.1:{self._server.port}/{urllib.parse.quote(name)}"

    def notifications(self) -> list[dict[str, Any]]:
        """Every item of every `value` array received, in order."""
        with self._lock:
            return [item for payload in self.received for item in payload.get("value", [])]

    def wait_for(self, count: int, timeout: float = 10.0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while len(self.notifications()) < count and time.monotonic() < deadline:
            time.sleep(0.01)
        return self.notifications()

    def start(self) -> None:
        self._server.start()

    def stop(self) -> None:
        self._server.stop()


@contextmanager
def running_webhook(certificate: TestCertificate) -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver(certificate)
    receiver.start()
    try:
        yield receiver
    finally:
        receiver.stop()
