"""The signature of a webhook delivery, and how a receiver verifies it (docs/automation.md).

    X-CRM-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body bytes>")>

The timestamp is inside the signed text, so a captured delivery cannot be replayed later with a new
timestamp; a receiver refuses timestamps older than a few minutes. Several v1= values may appear (while a
secret is being changed); one matching value is enough."""

import hashlib
import hmac
import time

HEADER = "X-CRM-Signature"
SCHEME = "v1"
DEFAULT_TOLERANCE_SECONDS = 300


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The hex HMAC-SHA256 of `<timestamp>.<body>` under `secret`."""
    signed = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def header_value(secret: str, timestamp: int, body: bytes) -> str:
    return f"t={timestamp},{SCHEME}={signature(secret, timestamp, body)}"


def verify(
    secret: str, header: str, body: bytes, tolerance_seconds: int = DEFAULT_TOLERANCE_SECONDS, now: float | None = None
) -> bool:
    """Whether `header` (the X-CRM-Signature value) signs `body` (the raw bytes received) under `secret`, with
    a timestamp within `tolerance_seconds` of now. Compares in constant time."""
    timestamp: int | None = None
    candidates = []
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t" and value.isdigit():
            timestamp = int(value)
        elif key == SCHEME:
            candidates.append(value)
    if timestamp is None or not candidates:
        return False
    if abs((time.time() if now is None else now) - timestamp) > tolerance_seconds:
        return False
    expected = signature(secret, timestamp, body)
    return any(hmac.compare_digest(expected, c) for c in candidates)
