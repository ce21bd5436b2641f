"""Retry with exponential backoff and full jitter, and a per-attempt timeout.

Retries connection errors, timeouts, 429 (honouring Retry-After) and 5xx; anything
else fails at once. The last error names the model, the endpoint and the cause.
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass
from typing import Awaitable, Callable, Sequence

from simulator.llm.types import ChatMessage, ChatModel, ChatOptions, ModelCallError, Reply
from simulator.logs import get_logger

log = get_logger("llm.retry")


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 4
    timeout: float = 120.0  # seconds per attempt
    base_delay: float = 1.0
    max_delay: float = 30.0

    def delay(self, attempt: int, rng: random.Random, retry_after: float | None) -> float:
        """Full jitter: uniform in [0, min(max, base * 2^attempt)], at least Retry-After."""
        backoff = rng.uniform(0, min(self.max_delay, self.base_delay * 2 ** attempt))
        return max(backoff, min(retry_after, self.max_delay)) if retry_after is not None else backoff


class RetryingModel:
    def __init__(self, inner: ChatModel, policy: RetryPolicy = RetryPolicy(), *,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep, rng: random.Random | None = None):
        self.inner = inner
        self.spec, self.endpoint = inner.spec, inner.endpoint
        self.policy = policy
        self._sleep = sleep
        self._rng = rng or random.Random()

    async def chat(self, messages: Sequence[ChatMessage], options: ChatOptions) -> Reply:
        last: ModelCallError | None = None
        for attempt in range(self.policy.attempts):
            try:
                return await asyncio.wait_for(self.inner.chat(messages, options), self.policy.timeout)
            except asyncio.TimeoutError:
                last = ModelCallError(self.spec, self.endpoint, f"no answer within {self.policy.timeout:g}s",
                                      retryable=True)
            except ModelCallError as exc:
                last = exc
                if not exc.retryable:
                    raise
            if attempt + 1 < self.policy.attempts:
                pause = self.policy.delay(attempt, self._rng, last.retry_after)
                log.warning("%s (attempt %d of %d); retrying in %.1fs", last.message, attempt + 1,
                            self.policy.attempts, pause)
                await self._sleep(pause)
        assert last is not None
        raise ModelCallError(self.spec, self.endpoint, f"{last.cause} (gave up after {self.policy.attempts} attempts)",
                             retryable=False, status=last.status, gave_up=True)
