"""One HTTP client per endpoint and event loop, shared by every agent that calls it.

A batch builds a model stack per conversation; giving each its own client would open
a connection pool and load the TLS certificate store every time (26 ms each for the
OpenAI client), and would not reuse connections between conversations.
"""

from __future__ import annotations

import asyncio
import hashlib
from typing import Callable, TypeVar

T = TypeVar("T")

_clients: dict[tuple, object] = {}


def shared_client(kind: str, endpoint: str, secret: str | None, timeout: float | None, make: Callable[[], T]) -> T:
    """The client for this endpoint on the running loop, created by `make` the first time."""
    try:
        loop_id = id(asyncio.get_running_loop())
    except RuntimeError:
        loop_id = 0
    fingerprint = hashlib.sha256((secret or "").encode()).hexdigest()[:12]  # the key itself is not kept as a key
    key = (kind, endpoint, fingerprint, timeout, loop_id)
    client = _clients.get(key)
    if client is None:
        client = _clients[key] = make()
    return client  # type: ignore[return-value]
