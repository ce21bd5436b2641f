"""Agents of a conversation: named like `Guard_117`, unique within the conversation."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Mapping


@dataclass(frozen=True)
class Agent:
    name: str
    role: str
    llm: int = 0  # which of the run's LLM settings this participant speaks with


def name_agents(counts: Mapping[str, int], rng: random.Random) -> list[Agent]:
    """Agents in role order, each `Role_NNN` with a number not used twice in the conversation."""
    used: set[int] = set()
    agents = []
    for role, count in counts.items():
        for _ in range(count):
            number = rng.randint(100, 999)
            while number in used:
                number = rng.randint(100, 999)
            used.add(number)
            agents.append(Agent(f"{role.capitalize()}_{number}", role))
    return agents
