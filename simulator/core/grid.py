"""The values a role experiment's sweep runs through: agent-count combinations and day settings.

The sweep nests as in the original tool (protocols/roles.py builds its axes): for each
repeat, for each LLM, for each day setting, for each agent-count combination. Pure.
"""

from __future__ import annotations

import itertools
from typing import Mapping

from simulator.errors import ValidationError


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


def repeat_values(repeats: int) -> tuple[int, ...]:
    if repeats < 1:
        raise ValidationError(f"repeats must be at least 1, got {repeats}")
    return tuple(range(repeats))
