"""Exchange Online through Microsoft Graph: msal's tokens (auth.py), an httpx client that keeps Graph's limits
(client.py, throttling.py), folders (folders.py), the messages delta query (delta.py) and the `GraphSource`
(source.py) built on them."""

from mailbridge.sources.graph.settings import GraphLimits, GraphSettings
from mailbridge.sources.graph.source import GraphSource

__all__ = ["GraphLimits", "GraphSettings", "GraphSource"]
