"""Store writes: one gate on how many run at once, and retries for passing failures.

SQLite takes one writer at a time; FerretDB's SQLite backend answers "database is
locked" (SQLITE_BUSY) when many writers collide, and under 64 concurrent conversations
the busy-retry storm made a batch 60x slower. So writes pass a gate (one at a time on
FerretDB, many on MongoDB), and what still fails for a passing reason, or because a
connection dropped, is retried: every write we make is idempotent (the unique message
index, upserts, $set), so trying again is safe.
"""

from __future__ import annotations

import asyncio
import functools
import random
from typing import Awaitable, Callable, TypeVar

from pymongo.errors import AutoReconnect, DuplicateKeyError, OperationFailure

from simulator.logs import get_logger

log = get_logger("store.retry")

T = TypeVar("T")
ATTEMPTS = 12
BASE_DELAY = 0.01
MAX_DELAY = 1.0


def is_transient(exc: BaseException) -> bool:
    if isinstance(exc, DuplicateKeyError):
        return False
    if isinstance(exc, AutoReconnect):
        return True
    if isinstance(exc, OperationFailure):
        text = str(exc).lower()
        return "database is locked" in text or "sqlite_busy" in text
    return False


class Repository:
    """Base of the repositories: a collection and the store's shared write gate."""

    def __init__(self, collection, gate: asyncio.Semaphore | None = None):
        self.collection = collection
        self.gate = gate


def retry_transient(method: Callable[..., Awaitable[T]]) -> Callable[..., Awaitable[T]]:
    """For repository write methods: pass the gate, retry transient failures."""

    @functools.wraps(method)
    async def wrapper(self: Repository, *args, **kwargs) -> T:
        for attempt in range(ATTEMPTS):
            try:
                if self.gate is None:
                    return await method(self, *args, **kwargs)
                async with self.gate:
                    return await method(self, *args, **kwargs)
            except Exception as exc:
                if not is_transient(exc) or attempt + 1 == ATTEMPTS:
                    raise
                log.info("%s: transient store error (%s), retry %d", method.__qualname__, str(exc)[:120], attempt + 1)
                await asyncio.sleep(random.uniform(0, min(MAX_DELAY, BASE_DELAY * 2 ** attempt)))
        raise AssertionError("unreachable")

    return wrapper
