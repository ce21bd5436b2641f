"""The 1,000-conversation batch (zero-latency model, 10 messages each, concurrency 64) in a
database that already holds 10^5 messages: its wall time and the peak memory of the process.

A study is thousands of conversations, so the batch runs beside what earlier batches stored
(--prefill messages of ~800 characters, written with insert_many first). Targets: <= 20 s
wall and <= 500 MB peak RSS. --backend sqlite runs the same on the store before PostgreSQL.

    .venv/bin/python benchmarks/memory.py [--conversations 1000] [--messages 10] [--concurrency 64]
                                          [--prefill 100000] [--backend postgresql|sqlite]
"""

from __future__ import annotations

import argparse
import resource
import time

from _support import InstantModel, bench_store, prefill_messages

from simulator import aio
from simulator.batch.plan import create_batch  # noqa: E402
from simulator.protocols.roles import role_batch  # noqa: E402
from simulator.batch.runner import run_batch
from simulator.llm.factory import ModelSettings


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


async def instant_batch(store, settings, experiment, n_conversations: int, n_messages: int,
                        concurrency: int) -> tuple[float, float]:
    """Plan and run a 1v1 batch on the instant model; (seconds planning, seconds running)."""
    spec = role_batch(llms=experiment.experiment.llms[:1], max_agents={"guard": 1, "prisoner": 1},
                      n_messages=n_messages, repeats=n_conversations, seed=1)
    started = time.perf_counter()
    planned = await create_batch(store, settings.user, experiment, spec)
    planned_at = time.perf_counter()
    options = ModelSettings()
    outcome = await run_batch(store, settings, planned.id, options, concurrency=concurrency,
                              model_for=lambda cid: InstantModel(options.meter))
    assert outcome.completed == n_conversations, outcome
    return planned_at - started, time.perf_counter() - planned_at


async def main(n_conversations: int, n_messages: int, concurrency: int, prefill: int, backend: str | None) -> None:
    async with bench_store(backend) as (store, settings, experiment):
        if prefill:
            started = time.perf_counter()
            await prefill_messages(store, prefill)
            print(f"{store.server.describe()}: {prefill:,} messages stored first "
                  f"({time.perf_counter() - started:.0f} s)")
        baseline = peak_rss_mb()
        planning, running = await instant_batch(store, settings, experiment, n_conversations, n_messages,
                                                concurrency)
        print(f"{n_conversations} conversations x {n_messages} messages at concurrency {concurrency}, "
              f"{prefill:,} messages stored before, write gate {store.write_gate._value}: "
              f"planned in {planning:.1f} s, ran in {running:.1f} s, wall {planning + running:.1f} s; "
              f"peak RSS {peak_rss_mb():.0f} MB (before the batch: {baseline:.0f} MB)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--conversations", type=int, default=1000)
    parser.add_argument("--messages", type=int, default=10)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--prefill", type=int, default=100_000, help="messages stored before the batch")
    parser.add_argument("--backend", choices=["postgresql", "sqlite"], help="a private FerretDB on this backend")
    args = parser.parse_args()
    aio.run(main(args.conversations, args.messages, args.concurrency, args.prefill, args.backend))
