"""Perform new conversations: preview a sweep (how many conversations, about how many calls).

The menus gather the same settings the commands take and run them through the batch
runner; the preview checks every cell and renders each distinct one before anything is
written.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from simulator.actions.conversations import build_document
from simulator.actions.experiments import StoredExperiment
from simulator.batch.plan import check_plan, estimated_calls
from simulator.core.sweep import BatchPlan


@dataclass(frozen=True)
class Preview:
    conversations: int
    calls: int


def preview(user: str, plan: BatchPlan, experiment: StoredExperiment | None = None) -> Preview:
    """Raises ValidationError for anything the batch would refuse; nothing is stored."""
    cells = check_plan(plan, experiment)
    rendered: set[str] = set()
    for cell in cells:  # every distinct cell (repeats differ only in their seed) renders all its prompts
        key = repr((cell.spec.llms, sorted(cell.spec.options.items())))
        if key not in rendered:
            rendered.add(key)
            build_document(user, dataclasses.replace(cell.spec, seed=1), experiment)
    return Preview(len(cells), estimated_calls(cells))
