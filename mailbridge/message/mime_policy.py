"""The email policy the normaliser parses with: the stdlib's `policy.default`, with each header's parsed value
remembered by (name, text).

The default policy parses a header again every time it is read, and the stdlib reads Content-Type again and
again for one part (the parser itself, `get_body()`, `get_content_type()`, `iter_parts()`): on ordinary mail
that made header parsing two thirds of `normalise()`. A parsed header is an immutable str subclass, so the
same object can be handed out again, and the result is exactly what the default policy returns. Only short
values are kept (the common Content-Type, Content-Transfer-Encoding and Content-Disposition values repeat
from one message to the next); a long, one-off value is parsed as before, so a hostile header cannot fill
the cache."""

from email.headerregistry import BaseHeader
from email.policy import EmailPolicy, default
from functools import lru_cache
from typing import Any

CACHED_VALUE_CHARS = 512
CACHED_HEADERS = 2048


@lru_cache(maxsize=CACHED_HEADERS)
def _parsed(name: str, value: str) -> BaseHeader:
    return default.header_fetch_parse(name, value)  # type: ignore[no-any-return]


class RememberingPolicy(EmailPolicy):
    def header_fetch_parse(self, name: str, value: Any) -> Any:
        if hasattr(value, "name") or len(value) > CACHED_VALUE_CHARS:
            return super().header_fetch_parse(name, value)
        return _parsed(name, value)


parsing_policy = RememberingPolicy()
