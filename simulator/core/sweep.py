"""A sweep: a base RunSpec and its axes; every combination of axis values is a cell.

Pure data (the batch planner in simulator/batch/plan.py stores the cells). Axes are the
dimensions a researcher varies: repeat, LLM setting, days and agent counts for a role
experiment; rooms and repeats for a chatroom. Each cell gets its own seed.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from simulator.core.run_spec import RunSpec

SEED_STEP = 7_919
SEED_MODULUS = 2_147_483_647


def keep(spec: RunSpec, value: Any) -> RunSpec:
    return spec


@dataclass(frozen=True)
class Axis:
    """One dimension of a sweep: its name (stored on every cell), its values, and how a value changes the spec."""

    name: str
    values: tuple[Any, ...]
    apply: Callable[[RunSpec, Any], RunSpec] = keep

    @classmethod
    def option(cls, name: str, values: tuple[Any, ...]) -> "Axis":
        return cls(name, tuple(values), lambda spec, value: spec.with_options(**{name: value}))


@dataclass(frozen=True)
class Cell:
    n: int
    values: dict[str, Any]
    spec: RunSpec


@dataclass(frozen=True)
class BatchPlan:
    base: RunSpec
    axes: tuple[Axis, ...] = ()
    token_budget: int | None = None
    description: Mapping[str, Any] = field(default_factory=dict)  # the sweep as asked for, stored as the grid

    @property
    def size(self) -> int:
        """How many cells, known before any is made (a sweep of a million cells is refused, not built)."""
        return math.prod(len(a.values) for a in self.axes)

    def cells(self, base_seed: int = 0) -> list[Cell]:
        """Every combination of axis values, nested in axis order, each with its own seed."""
        names = [a.name for a in self.axes]
        cells = []
        for n, combo in enumerate(itertools.product(*(a.values for a in self.axes))):
            spec = self.base
            for axis, value in zip(self.axes, combo):
                spec = axis.apply(spec, value)
            seed = (base_seed + n * SEED_STEP) % SEED_MODULUS
            cells.append(Cell(n, dict(zip(names, combo)), dataclasses.replace(spec, seed=seed)))
        return cells
