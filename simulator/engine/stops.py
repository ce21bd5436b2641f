"""Stop conditions, composable with `|` (either) and `&` (both).

Each looks at the state after a message and returns a Stop (why, and whether the
conversation is finished or only paused and resumable) or None to go on.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from difflib import SequenceMatcher
from typing import Callable

from simulator.engine.state import ConversationState


@dataclass(frozen=True)
class Stop:
    reason: str
    resumable: bool = False  # a paused run (wall clock) may be resumed; a finished one may not


class StopCondition:
    def check(self, state: ConversationState) -> Stop | None:
        raise NotImplementedError

    def __or__(self, other: "StopCondition") -> "StopCondition":
        return AnyOf(self, other)

    def __and__(self, other: "StopCondition") -> "StopCondition":
        return AllOf(self, other)


class AnyOf(StopCondition):
    def __init__(self, *conditions: StopCondition):
        self.conditions = conditions

    def check(self, state: ConversationState) -> Stop | None:
        for condition in self.conditions:
            stop = condition.check(state)
            if stop:
                return stop
        return None


class AllOf(StopCondition):
    def __init__(self, *conditions: StopCondition):
        self.conditions = conditions

    def check(self, state: ConversationState) -> Stop | None:
        stops = [c.check(state) for c in self.conditions]
        if all(stops):
            return Stop(" and ".join(s.reason for s in stops if s), all(s.resumable for s in stops if s))
        return None


class MessageBudget(StopCondition):
    def __init__(self, n: int):
        self.n = n

    def check(self, state: ConversationState) -> Stop | None:
        return Stop(f"message budget reached ({self.n})") if state.next_index >= self.n else None


class Keyword(StopCondition):
    """A stop word in the last message, like the `^C^C` of the backrooms CLI."""

    def __init__(self, keyword: str = "^C^C"):
        self.keyword = keyword

    def check(self, state: ConversationState) -> Stop | None:
        if state.turns and self.keyword in state.turns[-1].content:
            return Stop(f"stop keyword {self.keyword!r} said by {state.turns[-1].speaker}")
        return None


def _normalise(text: str) -> str:
    return re.sub(r"\s+", " ", text.strip().lower())


def similarity(a: str, b: str) -> float:
    a, b = _normalise(a), _normalise(b)
    if a == b:
        return 1.0
    return SequenceMatcher(None, a, b, autojunk=False).ratio()


class SelfReplication(StopCondition):
    """The last `window` messages repeat with a period of 1 to `max_period` messages.

    This is the signature of a self-replicating message (a "quine") taking over a room:
    message i is (nearly) message i - p for every one of the last `window` messages.
    """

    def __init__(self, window: int = 6, max_period: int = 5, threshold: float = 0.9):
        self.window, self.max_period, self.threshold = window, max_period, threshold

    def period(self, contents: list[str]) -> int | None:
        for p in range(1, self.max_period + 1):
            if len(contents) < self.window + p:
                break
            tail = contents[-(self.window + p):]
            if all(similarity(tail[i], tail[i + p]) >= self.threshold for i in range(self.window)):
                return p
        return None

    def check(self, state: ConversationState) -> Stop | None:
        contents = [t.content for t in state.turns[-(self.window + self.max_period):]]
        p = self.period(contents)
        return Stop(f"self-replicating cycle (period {p}, last {self.window} messages)") if p else None


class TokenBudget(StopCondition):
    def __init__(self, tokens: int):
        self.tokens = tokens

    def check(self, state: ConversationState) -> Stop | None:
        return Stop(f"token budget reached ({state.total_tokens} >= {self.tokens})") \
            if state.total_tokens >= self.tokens else None


class CostBudget(StopCondition):
    def __init__(self, dollars: float):
        self.dollars = dollars

    def check(self, state: ConversationState) -> Stop | None:
        return Stop(f"cost budget reached (${state.cost:.4f} >= ${self.dollars:.4f})") \
            if state.cost >= self.dollars else None


class WallClock(StopCondition):
    """Pause after this many seconds of this run; the conversation stays resumable."""

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic):
        self.seconds, self.clock = seconds, clock

    def check(self, state: ConversationState) -> Stop | None:
        elapsed = self.clock() - state.started
        return Stop(f"wall-clock limit reached ({elapsed:.0f}s)", resumable=True) if elapsed >= self.seconds else None
