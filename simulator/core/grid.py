"""The factorial grid of a batch: repeats x LLMs x days x agent-count combinations.

Nesting order follows the original tool: for each repeat, for each LLM, for each day
setting, for each agent-count combination. Pure: numbers in, cells out.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Mapping

from simulator.errors import ValidationError


@dataclass(frozen=True)
class Cell:
    repeat: int
    llm: int  # index into the batch's LLM settings
    days: int
    agent_counts: dict[str, int]


def agent_combinations(max_agents: Mapping[str, int], every_combination: bool) -> list[dict[str, int]]:
    """Every count from 1 to the maximum per role (1v1, 1v2, 2v1, 2v2, ...), or only the maxima."""
    bad = [f"{role}={n}" for role, n in max_agents.items() if not isinstance(n, int) or n < 1 or n > 50]
    if bad or not max_agents:
        raise ValidationError(f"maximum agents must be 1 to 50 per role, got {', '.join(bad) or 'nothing'}")
    if not every_combination:
        return [dict(max_agents)]
    roles = list(max_agents)
    ranges = [range(1, max_agents[role] + 1) for role in roles]
    return [dict(zip(roles, counts)) for counts in itertools.product(*ranges)]


def day_settings(days: int, every_day_count: bool) -> list[int]:
    """`days`, or every value 1..days."""
    if days < 1:
        raise ValidationError(f"days must be at least 1, got {days}")
    return list(range(1, days + 1)) if every_day_count else [days]


def expand_grid(*, repeats: int, n_llms: int, days: int, every_day_count: bool, max_agents: Mapping[str, int],
                every_combination: bool) -> list[Cell]:
    if repeats < 1:
        raise ValidationError(f"repeats must be at least 1, got {repeats}")
    if n_llms < 1:
        raise ValidationError("a batch needs at least one LLM setting")
    combos = agent_combinations(max_agents, every_combination)
    return [Cell(repeat, llm, d, combo)
            for repeat in range(repeats)
            for llm in range(n_llms)
            for d in day_settings(days, every_day_count)
            for combo in combos]


def estimated_calls(cells: list[Cell], n_messages: int) -> int:
    """Model calls a grid will make: every message plus one summary per day."""
    return sum(n_messages + cell.days for cell in cells)
