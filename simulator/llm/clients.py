"""One HTTP client per endpoint and event loop, shared by every agent that calls it.

A batch builds a model stack per conversation; giving each its own client would open
a connection pool and load the TLS certificate store every time (26 ms each for the
OpenAI client), and would not reuse connections between conversations. Clients belong to
the loop that made them (they hold its sockets), so they are kept per loop and closed with
it (simulator.aio.run calls close_clients).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import inspect
import weakref
from typing import Callable, TypeVar

T = TypeVar("T")

_by_loop: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[tuple, object]]" = weakref.WeakKeyDictionary()
_outside_loops: dict[tuple, object] = {}


def shared_client(kind: str, endpoint: str, secret: str | None, timeout: float | None, make: Callable[[], T]) -> T:
    """The client for this endpoint on the running loop, created by `make` the first time."""
    try:
        clients = _by_loop.setdefault(asyncio.get_running_loop(), {})
    except RuntimeError:
        clients = _outside_loops
    fingerprint = hashlib.sha256((secret or "").encode()).hexdigest()[:12]  # the key itself is not kept as a key
    key = (kind, endpoint, fingerprint, timeout)
    client = clients.get(key)
    if client is None:
        client = clients[key] = make()
    return client  # type: ignore[return-value]


async def close_clients() -> None:
    """Close the running loop's clients (their connections), before the loop closes."""
    for client in _by_loop.pop(asyncio.get_running_loop(), {}).values():
        close = getattr(client, "close", None) or getattr(client, "aclose", None)
        if close is not None:
            with contextlib.suppress(Exception):  # closing is tidying up: a failure changes nothing stored
                result = close()
                if inspect.isawaitable(result):
                    await result
