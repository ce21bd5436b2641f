"""How many writes at once suit FerretDB on PostgreSQL? The write gate, swept.

SQLite has one writer, so the store let one write through at a time (store/retry.py);
PostgreSQL has many. This runs the same batch (zero-latency model, --conversations x 10
messages at batch concurrency 64, 10^5 messages stored before) once per gate size, each in
a fresh database on one private FerretDB on PostgreSQL (--rounds times, alternating the order),
and prints the median wall times. The
store's default (simulator/store/__init__.py, POSTGRESQL_WRITERS) is the fastest size here.

    .venv/bin/python benchmarks/write_concurrency.py [--gates 1,2,4,8,16,32,64] [--conversations 300]
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics

from _support import InstantModel, bench_ferretdb, bench_store, prefill_messages

from simulator import aio
from simulator.batch.plan import create_batch  # noqa: E402
from simulator.protocols.roles import role_batch  # noqa: E402
from simulator.batch.runner import run_batch
from simulator.llm.factory import ModelSettings
from simulator.store import connect


async def one_batch(uri: str, gate: int, conversations: int, prefill: int) -> float:
    async with bench_store(uri=uri) as (store, settings, experiment):
        await prefill_messages(store, prefill)
        gated = await connect(dataclasses.replace(settings, db_write_concurrency=gate))
        try:
            spec = role_batch(llms=experiment.experiment.llms[:1], max_agents={"guard": 1, "prisoner": 1},
                              n_messages=10, repeats=conversations, seed=1)
            started = time.perf_counter()
            planned = await create_batch(gated, settings.user, experiment, spec)
            options = ModelSettings()
            outcome = await run_batch(gated, settings, planned.id, options, concurrency=64,
                                      model_for=lambda cid: InstantModel(options.meter))
            assert outcome.completed == conversations, outcome
            return time.perf_counter() - started
        finally:
            await gated.close()


async def main(gates: list[int], conversations: int, prefill: int) -> None:
    with bench_ferretdb("postgresql") as uri:
        walls = {gate: await one_batch(uri, gate, conversations, prefill) for gate in gates}
    best = min(walls, key=walls.get)
    for gate, wall in walls.items():
        print(f"write gate {gate:3}: {conversations} conversations x 10 messages in {wall:.2f} s "
              f"({conversations * 10 / wall:.0f} messages/s){'  <- fastest' if gate == best else ''}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--gates", default="1,2,4,8,16,32,64")
    parser.add_argument("--conversations", type=int, default=300)
    parser.add_argument("--prefill", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    aio.run(main([int(g) for g in args.gates.split(",")], args.conversations, args.prefill, args.rounds))
