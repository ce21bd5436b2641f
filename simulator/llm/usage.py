"""Usage accounting: tokens per call, and cost where the price table knows the model."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Sequence

from simulator.llm.types import ChatMessage, ChatModel, ChatOptions, Reply

# US dollars per million tokens (input, output), from the providers' public price pages.
PRICES: dict[str, tuple[float, float]] = {
    "openai/gpt-4o": (2.50, 10.00),
    "openai/gpt-4o-mini": (0.15, 0.60),
    "openai/gpt-4.1": (2.00, 8.00),
    "openai/gpt-4.1-mini": (0.40, 1.60),
    "openai/gpt-4.1-nano": (0.10, 0.40),
    "openai/o3-mini": (1.10, 4.40),
    "openai/o4-mini": (1.10, 4.40),
}


def cost_of(spec: str, prompt_tokens: int, completion_tokens: int,
            prices: dict[str, tuple[float, float]] = PRICES) -> float:
    price = prices.get(spec)
    if price is None:
        return 0.0
    return (prompt_tokens * price[0] + completion_tokens * price[1]) / 1_000_000


@dataclass
class UsageMeter:
    """Running totals, shared by every model of one run or batch."""

    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost: float = 0.0
    by_model: dict[str, dict[str, float]] = field(default_factory=dict)

    def add(self, spec: str, reply: Reply) -> None:
        self.calls += 1
        self.prompt_tokens += reply.prompt_tokens
        self.completion_tokens += reply.completion_tokens
        self.cost += reply.cost
        totals = self.by_model.setdefault(spec, {"calls": 0, "prompt_tokens": 0, "completion_tokens": 0, "cost": 0.0})
        totals["calls"] += 1
        totals["prompt_tokens"] += reply.prompt_tokens
        totals["completion_tokens"] += reply.completion_tokens
        totals["cost"] += reply.cost

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


class MeteredModel:
    """Adds every reply to a meter; with `prices`, first sets its cost from the price table.

    Without prices it only tallies: a conversation's own meter around a batch-wide one.
    """

    def __init__(self, inner: ChatModel, meter: UsageMeter, prices: dict[str, tuple[float, float]] | None = PRICES):
        self.inner = inner
        self.spec, self.endpoint = inner.spec, inner.endpoint
        self.meter = meter
        self.prices = prices

    async def chat(self, messages: Sequence[ChatMessage], options: ChatOptions) -> Reply:
        reply = await self.inner.chat(messages, options)
        if self.prices is not None:
            reply = dataclasses.replace(reply, cost=cost_of(self.spec, reply.prompt_tokens, reply.completion_tokens,
                                                            self.prices))
        self.meter.add(self.spec, reply)
        return reply
