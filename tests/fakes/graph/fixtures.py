"""Pytest fixtures for the fake Graph: import them into a conftest.py
(`from tests.fakes.graph.fixtures import graph_certificate, graph_fake, webhook_receiver  # noqa: F401`). The
certificate is made once per session; each test gets its own fake server (and webhook receiver), stopped after
it."""

from collections.abc import Iterator

import pytest

from tests.fakes.graph.fake import GraphFake, running_graph
from tests.fakes.graph.webhook import WebhookReceiver, running_webhook
from tests.mailbridge.tls import TestCertificate, make_certificate


@pytest.fixture(scope="session")
def graph_certificate(tmp_path_factory: pytest.TempPathFactory) -> TestCertificate:
    return make_certificate(tmp_path_factory.mktemp("graph-tls"))


@pytest.fixture
def graph_fake(graph_certificate: TestCertificate) -> Iterator[GraphFake]:
    with running_graph(graph_certificate) as fake:
        yield fake


@pytest.fixture
def webhook_receiver(graph_certificate: TestCertificate) -> Iterator[WebhookReceiver]:
    """An HTTPS notification endpoint the fake trusts (same certificate)."""
    with running_webhook(graph_certificate) as receiver:
        yield receiver
