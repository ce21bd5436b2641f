"""What the turn loop knows about a conversation in progress (pure data)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from simulator.core.agents import Agent


@dataclass
class Turn:
    """One stored message, as the engine sees it."""

    index: int
    day: int
    speaker: str
    role: str
    content: str
    round: int | None = None  # in protocols where every participant speaks once per round


@dataclass
class ConversationState:
    agents: list[Agent]
    n_messages: int
    days: int
    turns: list[Turn] = field(default_factory=list)
    summaries: dict[int, str] = field(default_factory=dict)  # day -> summary
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost: float = 0.0
    started: float = field(default_factory=time.monotonic)

    @property
    def next_index(self) -> int:
        return len(self.turns)

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def agent(self, name: str) -> Agent:
        return next(a for a in self.agents if a.name == name)

    def last_speaker(self) -> str | None:
        return self.turns[-1].speaker if self.turns else None

    def day_turns(self, day: int) -> list[Turn]:
        """Turns of one day: a slice, since turn i is message i and days are contiguous."""
        sizes = day_sizes(self.n_messages, self.days)
        start = sum(sizes[:day])
        return self.turns[start:start + sizes[day]] if day < len(sizes) else []


def day_sizes(n_messages: int, days: int) -> list[int]:
    """Split the budget across days, the remainder going to the first days."""
    base, extra = divmod(n_messages, days)
    return [base + (1 if d < extra else 0) for d in range(days)]


def day_of(index: int, n_messages: int, days: int) -> int:
    end = 0
    for day, size in enumerate(day_sizes(n_messages, days)):
        end += size
        if index < end:
            return day
    return days - 1


def is_last_of_day(index: int, n_messages: int, days: int) -> bool:
    end = 0
    for size in day_sizes(n_messages, days):
        end += size
        if index == end - 1:
            return True
    return False
