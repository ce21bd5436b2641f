"""Store writes: one gate on how many run at once, and retries for passing failures.

SQLite takes one writer at a time; FerretDB's SQLite backend answers "database is
locked" (SQLITE_BUSY) when many writers collide, and under 64 concurrent conversations
the busy-retry storm made a batch 60x slower. So writes pass a gate (one at a time on
FerretDB over SQLite, more on PostgreSQL and MongoDB: see store.write_concurrency), and
what still fails for a passing reason, because a connection dropped, or because FerretDB
lost its PostgreSQL for a moment, is retried: every write we make is idempotent (the
unique message index, upserts, $set), so trying again is safe.

Retries stop after ATTEMPTS tries or BUDGET seconds, whichever comes first (a stopped
server costs a server-selection timeout per try); then the write fails with one line
naming the database and the server, which the run records as its failure reason. Once a
write has given up, later writes through the same client get one try each until one
succeeds, so recording the failure (or the other conversations of a batch) does not wait
through the whole budget again.
"""

from __future__ import annotations

import asyncio
import functools
import random
import time
import weakref
from typing import Awaitable, Callable, TypeVar

from pymongo.errors import AutoReconnect, DuplicateKeyError, OperationFailure, PyMongoError

from simulator.logs import get_logger
from simulator.store.connection import backend_down

log = get_logger("store.retry")

T = TypeVar("T")
ATTEMPTS = 12
BUDGET = 10.0
BASE_DELAY = 0.01
MAX_DELAY = 1.0


# Clients whose last write gave up: their next writes get one try (see the module docstring).
_gave_up: "weakref.WeakKeyDictionary[object, bool]" = weakref.WeakKeyDictionary()


class DatabaseLost(PyMongoError):
    """A write failed for good on a passing kind of failure; the message is one line for the researcher."""


def is_transient(exc: BaseException) -> bool:
    if isinstance(exc, DuplicateKeyError):
        return False
    if isinstance(exc, AutoReconnect):
        return True
    if isinstance(exc, OperationFailure):
        text = str(exc).lower()
        return "database is locked" in text or "sqlite_busy" in text or backend_down(exc) is not None
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
        client = self.collection.database.client
        attempts = 1 if _gave_up.get(client) else ATTEMPTS
        deadline = time.monotonic() + BUDGET
        for attempt in range(attempts):
            try:
                if self.gate is None:
                    result = await method(self, *args, **kwargs)
                else:
                    async with self.gate:
                        result = await method(self, *args, **kwargs)
                _gave_up.pop(client, None)
                return result
            except Exception as exc:
                if not is_transient(exc):
                    raise
                if attempt + 1 == attempts or time.monotonic() > deadline:
                    _gave_up[client] = True
                    raise DatabaseLost(lost_message(self.collection, exc)) from exc
                log.info("%s: transient store error (%s), retry %d", method.__qualname__, str(exc)[:120], attempt + 1)
                await asyncio.sleep(random.uniform(0, min(MAX_DELAY, BASE_DELAY * 2 ** attempt)))
        raise AssertionError("unreachable")

    return wrapper


def lost_message(collection, exc: BaseException) -> str:
    """One line: which database on which server, what went wrong, what to do."""
    database = collection.database
    hosts = ",".join(f"{h}:{p}" for h, p in sorted(database.client.topology_description.server_descriptions()))
    backend = backend_down(exc)
    if backend:
        what = f"FerretDB there cannot reach its PostgreSQL: {backend}"
    elif isinstance(exc, AutoReconnect):
        what = "the server does not answer" + (" (connection refused)" if "refused" in str(exc).lower() else "")
    else:  # still busy after every retry
        return f"database {database.name} at {hosts} stayed busy: {' '.join(str(exc).split())[:160]}; try again"
    return (f"lost database {database.name} at {hosts}: {what}; "
            f"start the server again (`make services` for the local one)")
