"""Creating a batch: expand the grid and store every cell as a pending conversation.

Everything is written before anything runs, so a killed runner loses no plan: `batch
resume` finds every cell and its conversation in the database.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any, Mapping

from bson import ObjectId

from simulator.actions.conversations import ConversationRequest, build_document
from simulator.actions.experiments import StoredExperiment
from simulator.core.experiment import LLMSetting
from simulator.core.grid import Cell, estimated_calls, expand_grid
from simulator.core.prompts import check_counts
from simulator.errors import ValidationError
from simulator.store import Store


@dataclass(frozen=True)
class BatchSpec:
    llms: tuple[LLMSetting, ...]
    max_agents: Mapping[str, int]
    n_messages: int
    days: int = 1
    every_day_count: bool = False  # try 1..days
    every_combination: bool = False  # every agent count 1..max per role
    repeats: int = 1
    speaker_selection: str = "round_robin"
    view: str = "shared"
    seed: int | None = None
    variants: Mapping[str, str] = field(default_factory=dict)
    token_budget: int | None = None

    def cells(self) -> list[Cell]:
        return expand_grid(repeats=self.repeats, n_llms=len(self.llms), days=self.days,
                           every_day_count=self.every_day_count, max_agents=self.max_agents,
                           every_combination=self.every_combination)


@dataclass(frozen=True)
class PlannedBatch:
    id: ObjectId
    cells: int
    estimated_calls: int


async def create_batch(store: Store, user: str, stored: StoredExperiment, spec: BatchSpec) -> PlannedBatch:
    if spec.speaker_selection == "manual":
        raise ValidationError("a batch runs unattended, so it cannot use manual speaker selection",
                              "choose round_robin, random, alternate_roles or auto")
    check_counts(stored.experiment, dict(spec.max_agents))
    cells = spec.cells()
    batch_id = ObjectId()
    base_seed = spec.seed if spec.seed is not None else random.SystemRandom().randrange(1, 2**31)
    documents = []
    for number, cell in enumerate(cells):
        request = ConversationRequest(llm=spec.llms[cell.llm], agent_counts=cell.agent_counts,
                                      n_messages=spec.n_messages, days=cell.days,
                                      speaker_selection=spec.speaker_selection, view=spec.view,
                                      seed=(base_seed + number * 7_919) % 2_147_483_647, variants=spec.variants,
                                      batch_id=batch_id)
        documents.append(build_document(user, stored, request))
    conversation_ids = await store.conversations.create_many(documents)
    grid: dict[str, Any] = {
        "llms": [{k: v for k, v in vars(l).items() if v is not None} for l in spec.llms],
        "max_agents": dict(spec.max_agents), "every_combination": spec.every_combination,
        "n_messages": spec.n_messages, "days": spec.days, "every_day_count": spec.every_day_count,
        "repeats": spec.repeats, "speaker_selection": spec.speaker_selection, "view": spec.view,
        "seed": base_seed, "variants": dict(spec.variants), "token_budget": spec.token_budget,
    }
    await store.batches.insert({
        "_id": batch_id, "experiment_id": stored.id, "experiment_name": stored.experiment.name, "creator": user,
        "status": "pending", "grid": grid,
        "cells": [{"n": n, "repeat": c.repeat, "llm": c.llm, "days": c.days, "agent_counts": c.agent_counts,
                   "conversation_id": cid} for n, (c, cid) in enumerate(zip(cells, conversation_ids))],
    })
    return PlannedBatch(batch_id, len(cells), estimated_calls(cells, spec.n_messages))
