"""Peak memory of a 1,000-conversation batch at concurrency 64 (zero-latency model).

    .venv/bin/python benchmarks/memory.py [--conversations 1000] [--messages 10] [--concurrency 64]
"""

from __future__ import annotations

import argparse
import resource
import time

from _support import InstantModel, bench_store

from simulator import aio
from simulator.batch.plan import BatchSpec, create_batch
from simulator.batch.runner import run_batch
from simulator.llm.factory import ModelSettings


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


async def main(n_conversations: int, n_messages: int, concurrency: int) -> None:
    async with bench_store() as (store, settings, experiment):
        baseline = peak_rss_mb()
        spec = BatchSpec(llms=experiment.experiment.llms[:1], max_agents={"guard": 1, "prisoner": 1},
                         n_messages=n_messages, repeats=n_conversations, seed=1)
        started = time.perf_counter()
        planned = await create_batch(store, settings.user, experiment, spec)
        planned_at = time.perf_counter()
        options = ModelSettings()
        outcome = await run_batch(store, settings, planned.id, options, concurrency=concurrency,
                                  model_for=lambda cid: InstantModel(options.meter))
        finished = time.perf_counter()
        assert outcome.completed == n_conversations, outcome
        print(f"{n_conversations} conversations x {n_messages} messages at concurrency {concurrency}: "
              f"planned in {planned_at - started:.1f} s, ran in {finished - planned_at:.1f} s; "
              f"peak RSS {peak_rss_mb():.0f} MB (before the batch: {baseline:.0f} MB)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--conversations", type=int, default=1000)
    parser.add_argument("--messages", type=int, default=10)
    parser.add_argument("--concurrency", type=int, default=64)
    args = parser.parse_args()
    aio.run(main(args.conversations, args.messages, args.concurrency))
