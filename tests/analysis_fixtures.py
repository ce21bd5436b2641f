"""Prison batches for the analysis tests: 1v1 and 2v1, both goal variants, repeated, on a real model.

`simulator batch` sweeps agent counts, days, LLMs and repeats; the goal variant is added
here as one more axis of the same sweep (simulator/core/sweep.py), so one batch holds the
whole design of the issue: 2 counts x 2 goals x repeats.
"""

from __future__ import annotations

import dataclasses

from simulator.batch.plan import create_batch
from simulator.batch.runner import run_batch
from simulator.core.experiment import LLMSetting
from simulator.core.sweep import Axis
from simulator.llm.factory import ModelSettings
from simulator.protocols.roles import role_batch

GOALS = ({"goal": "escape"}, {"goal": "yard_time"})


async def prison_batch(store, settings, experiment, llm: LLMSetting, *, n_messages: int = 6, repeats: int = 2,
                       seed: int = 11, concurrency: int = 4):
    """Plan and run the batch; returns its id and outcome."""
    plan = role_batch(llms=[llm], max_agents={"guard": 2, "prisoner": 1}, every_combination=True,
                      n_messages=n_messages, repeats=repeats, seed=seed)
    plan = dataclasses.replace(plan, axes=(*plan.axes, Axis.option("variants", GOALS)))
    planned = await create_batch(store, settings.user, experiment, plan)
    outcome = await run_batch(store, settings, planned.id, ModelSettings(concurrency=concurrency),
                              concurrency=concurrency)
    return planned.id, outcome
