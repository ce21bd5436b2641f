"""One concurrency limit per endpoint, shared by every agent that calls it.

Twenty agents on one local Ollama must not open twenty parallel generations;
`limiter_for` hands the same semaphore to every wrapper of the same endpoint.
"""

from __future__ import annotations

import asyncio
import time
from typing import Sequence

from simulator.llm.types import ChatMessage, ChatModel, ChatOptions, Reply


class EndpointLimiter:
    """At most `concurrency` calls at once, and optionally at most `per_minute` starts a minute."""

    def __init__(self, concurrency: int, per_minute: float | None = None):
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self.concurrency = concurrency
        self._slots = asyncio.Semaphore(concurrency)
        self._interval = 60.0 / per_minute if per_minute else 0.0
        self._next_start = 0.0
        self._start_lock = asyncio.Lock()
        self.active = 0
        self.peak = 0

    async def __aenter__(self) -> None:
        await self._slots.acquire()
        if self._interval:
            async with self._start_lock:
                wait = self._next_start - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
                self._next_start = max(time.monotonic(), self._next_start) + self._interval
        self.active += 1
        self.peak = max(self.peak, self.active)

    async def __aexit__(self, *exc: object) -> None:
        self.active -= 1
        self._slots.release()


_limiters: dict[str, EndpointLimiter] = {}


def limiter_for(endpoint: str, concurrency: int, per_minute: float | None = None) -> EndpointLimiter:
    """The shared limiter of an endpoint, created on first use with these limits."""
    limiter = _limiters.get(endpoint)
    if limiter is None:
        limiter = _limiters[endpoint] = EndpointLimiter(concurrency, per_minute)
    return limiter


class LimitedModel:
    def __init__(self, inner: ChatModel, limiter: EndpointLimiter):
        self.inner = inner
        self.spec, self.endpoint = inner.spec, inner.endpoint
        self.limiter = limiter

    async def chat(self, messages: Sequence[ChatMessage], options: ChatOptions) -> Reply:
        async with self.limiter:
            return await self.inner.chat(messages, options)
