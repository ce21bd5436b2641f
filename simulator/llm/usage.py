"""Usage accounting: tokens per call, and cost where the price table knows the model."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Mapping, Sequence

from simulator.llm import providers
from simulator.llm.types import ChatMessage, ChatModel, ChatOptions, Reply

def cost_of(spec: str, prompt_tokens: int, completion_tokens: int,
            prices: Mapping[str, tuple[float, float]] | None = None) -> float:
    """US dollars for a call: from `prices` keyed by spec when given, else the provider's own table."""
    if prices is None:
        return providers.cost_of(spec, prompt_tokens, completion_tokens)
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
    """Adds every reply to a meter; when `priced`, first sets its cost from the provider's price table.

    Unpriced it only tallies: a conversation's own meter around a batch-wide one.
    """

    def __init__(self, inner: ChatModel, meter: UsageMeter, priced: bool = True):
        self.inner = inner
        self.spec, self.endpoint = inner.spec, inner.endpoint
        self.meter = meter
        self.priced = priced

    async def chat(self, messages: Sequence[ChatMessage], options: ChatOptions) -> Reply:
        reply = await self.inner.chat(messages, options)
        if self.priced:
            reply = dataclasses.replace(reply, cost=cost_of(self.spec, reply.prompt_tokens, reply.completion_tokens))
        self.meter.add(self.spec, reply)
        return reply
