"""64 conversations x 20 messages against a local endpoint with a fixed 100 ms latency.

Runs the sweep concurrently (64 at once) and then one conversation at a time, in the
same process, against the same real FerretDB, through the real OpenAI provider and the
whole model stack (retry, per-endpoint limit, usage). Ideal wall time for one
conversation is 21 calls x 100 ms = 2.1 s (20 messages and one end-of-day summary).

    .venv/bin/python benchmarks/concurrency.py [--conversations 64] [--messages 20] [--skip-sequential]
"""

from __future__ import annotations

import argparse
import dataclasses
import time

from _support import SlowEndpoint, bench_store

from simulator import aio
from simulator.batch.plan import create_batch  # noqa: E402
from simulator.protocols.roles import role_batch  # noqa: E402
from simulator.batch.runner import run_batch
from simulator.core.experiment import LLMSetting
from simulator.llm.factory import CallMode, ModelSettings

DELAY = 0.1


async def sweep(store, settings, experiment, n: int, messages: int, concurrency: int) -> float:
    spec = role_batch(llms=(LLMSetting(model="openai/bench", temperature=0.5),), max_agents={"guard": 1, "prisoner": 1},
                      n_messages=messages, repeats=n, seed=1)
    planned = await create_batch(store, settings.user, experiment, spec)
    options = ModelSettings(concurrency=concurrency, mode=CallMode.LIVE)
    started = time.perf_counter()
    outcome = await run_batch(store, settings, planned.id, options, concurrency=concurrency)
    elapsed = time.perf_counter() - started
    assert outcome.completed == n, outcome
    return elapsed


async def main(n: int, messages: int, skip_sequential: bool) -> None:
    endpoint = SlowEndpoint(DELAY)
    try:
        async with bench_store() as (store, settings, experiment):
            settings = dataclasses.replace(settings, openai_base_url=endpoint.url, openai_api_key="bench")
            ideal = (messages + 1) * DELAY
            concurrent = await sweep(store, settings, experiment, n, messages, concurrency=n)
            print(f"{n} conversations x {messages} messages, concurrency {n}: {concurrent:.2f} s = "
                  f"{concurrent / ideal:.2f}x the ideal {ideal:.1f} s")
            if not skip_sequential:
                from simulator.llm import limits

                limits._limiters.clear()  # a fresh per-endpoint limit of 1 for the one-at-a-time run
                one_by_one = await sweep(store, settings, experiment, n, messages, concurrency=1)
                print(f"same sweep one conversation at a time: {one_by_one:.2f} s = {one_by_one / ideal:.1f}x the "
                      f"ideal; concurrency is {one_by_one / concurrent:.1f}x faster")
    finally:
        endpoint.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--conversations", type=int, default=64)
    parser.add_argument("--messages", type=int, default=20)
    parser.add_argument("--skip-sequential", action="store_true")
    args = parser.parse_args()
    aio.run(main(args.conversations, args.messages, args.skip_sequential))
