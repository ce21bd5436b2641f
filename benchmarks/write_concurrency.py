"""How many writes at once suit FerretDB on PostgreSQL? The write gate, swept.

SQLite has one writer, so the store let one write through at a time (store/retry.py);
PostgreSQL has many. This runs the same batch (zero-latency model, --conversations x 10
messages at batch concurrency 64, 10^5 messages stored before) once per gate size, each in
a fresh database on one private FerretDB on PostgreSQL (--rounds times, alternating the
order), and prints the median wall times. The store's default (simulator/store/__init__.py,
POSTGRESQL_WRITERS) comes from this sweep.

    .venv/bin/python benchmarks/write_concurrency.py [--gates 1,2,4,8,16,32,64] [--conversations 300]
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics

from _support import bench_ferretdb, bench_store, prefill_messages
from memory import instant_batch

from simulator import aio
from simulator.store import connect


async def one_batch(uri: str, gate: int, conversations: int, prefill: int) -> float:
    async with bench_store(uri=uri) as (store, settings, experiment):
        await prefill_messages(store, prefill)
        gated = await connect(dataclasses.replace(settings, db_write_concurrency=gate))
        try:
            return sum(await instant_batch(gated, settings, experiment, conversations, 10, concurrency=64))
        finally:
            await gated.close()


async def main(gates: list[int], conversations: int, prefill: int, rounds: int) -> None:
    """Each gate once per round, the order reversed every other round, so drift hits all alike."""
    walls: dict[int, list[float]] = {gate: [] for gate in gates}
    with bench_ferretdb("postgresql") as uri:
        for round_ in range(rounds):
            for gate in (gates if round_ % 2 == 0 else list(reversed(gates))):
                walls[gate].append(await one_batch(uri, gate, conversations, prefill))
    medians = {gate: statistics.median(times) for gate, times in walls.items()}
    best = min(medians, key=medians.get)
    for gate, wall in medians.items():
        print(f"write gate {gate:3}: {conversations} conversations x 10 messages in {wall:.2f} s "
              f"(median of {' '.join(f'{t:.2f}' for t in walls[gate])}; {conversations * 10 / wall:.0f} messages/s)"
              f"{'  <- fastest' if gate == best else ''}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--gates", default="1,2,4,8,16,32,64")
    parser.add_argument("--conversations", type=int, default=300)
    parser.add_argument("--prefill", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    aio.run(main([int(g) for g in args.gates.split(",")], args.conversations, args.prefill, args.rounds))
