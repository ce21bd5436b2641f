"""Creating a batch: expand a sweep into cells and store every cell as a pending conversation.

A sweep (simulator/core/sweep.py) is a base RunSpec and its axes: every combination of
axis values is a cell, each with its own seed. Any protocol's runs are batched the same
way, and every option of the base spec (stop keyword, cycle detection, budgets) reaches
every cell.
Everything is written before anything runs, so a killed runner loses no plan: `batch
resume` finds every cell and its conversation in the database.
"""

from __future__ import annotations

import dataclasses
import os
import random
from dataclasses import dataclass

from bson import ObjectId

from simulator import protocols
from simulator.actions.conversations import build_document, checked
from simulator.actions.experiments import StoredExperiment
from simulator.core.sweep import BatchPlan, Cell
from simulator.errors import ValidationError
from simulator.store import Store

@dataclass(frozen=True)
class PlannedBatch:
    id: ObjectId
    cells: int
    estimated_calls: int


def check_plan(plan: BatchPlan, experiment: StoredExperiment | None = None) -> list[Cell]:
    """Every cell checked by its protocol; raises before anything is written."""
    if plan.base.option("speaker_selection") == "manual":
        raise ValidationError("a batch runs unattended, so it cannot use manual speaker selection",
                              "choose round_robin, random, alternate_roles or auto")
    if plan.token_budget is not None and plan.token_budget < 1:
        raise ValidationError(f"--budget-tokens must be at least 1, got {plan.token_budget}")
    limit = max_cells()
    if plan.size > limit:
        raise ValidationError(f"the sweep has {plan.size:,} conversations, more than the limit of {limit:,}",
                              f"split it, or raise the limit with {MAX_CELLS_SETTING}=N")
    cells = plan.cells()
    if not cells:
        raise ValidationError("the sweep has no cells")
    for cell in cells:
        checked(cell.spec, experiment)
    return cells


MAX_CELLS_SETTING = "SIM_MAX_CELLS"
DEFAULT_MAX_CELLS = 10_000


def max_cells() -> int:
    """The most conversations one batch may plan (each is a stored document before anything runs)."""
    raw = os.environ.get(MAX_CELLS_SETTING, "").strip()
    if not raw:
        return DEFAULT_MAX_CELLS
    if not (raw.isascii() and raw.isdigit()) or int(raw) < 1:
        raise ValidationError(f"{MAX_CELLS_SETTING} must be a whole number of at least 1, got {raw!r}")
    return int(raw)


def estimated_calls(cells: list[Cell]) -> int:
    return sum(protocols.get(c.spec.protocol).estimated_calls(c.spec) for c in cells)


async def create_batch(store: Store, user: str, experiment: StoredExperiment | None, plan: BatchPlan) -> PlannedBatch:
    check_plan(plan, experiment)
    batch_id = ObjectId()
    base_seed = plan.base.seed if plan.base.seed is not None else random.SystemRandom().randrange(1, 2**31)
    cells = plan.cells(base_seed)
    documents = [build_document(user, dataclasses.replace(c.spec, batch_id=batch_id), experiment) for c in cells]
    conversation_ids = await store.conversations.create_many(documents)
    protocol = protocols.get(plan.base.protocol)
    await store.batches.insert({
        "_id": batch_id, "protocol": protocol.name, "experiment_id": experiment.id if experiment else None,
        "experiment_name": documents[0]["experiment_name"], "creator": user, "status": "pending",
        "grid": {**plan.description, "axes": [a.name for a in plan.axes], "seed": base_seed,
                 "token_budget": plan.token_budget},
        "cells": [{"n": c.n, **c.values, "conversation_id": cid} for c, cid in zip(cells, conversation_ids)],
    })
    return PlannedBatch(batch_id, len(cells), estimated_calls(cells))
