"""Store scale: the embedded store's hot queries as the messages collection grows.

For each backend (PostgreSQL, the default store; SQLite, the store before it) one private
FerretDB is filled with messages of about 800 characters (insert_many, conversations of
20) up to 10^4, 10^5 and 10^6 messages; at each size it takes the median time of
  list one conversation   store.messages.list(cid): find by conversation_id, sort by index
  find one by _id         find_one({"_id": id})
  update one by _id       update_one({"_id": id}, {"$set": ...})
  append one message      store.messages.append(...): insert under the unique (conversation, index)
each on other rows picked across the collection. Everything comes from one run, so the
10^6 / 10^4 ratios and the before/after ratios compare like with like. A measurement stops
after --samples samples or --budget seconds (at least 3 samples): the SQLite store needs
about 46 s to list one conversation at 10^6.

    .venv/bin/python benchmarks/store_scale.py [--sizes 10000,100000,1000000] [--backends postgresql,sqlite]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import statistics
import time

from _support import bench_store, message_text, prefill_messages

from simulator import aio
from simulator.store import Message

OPERATIONS = ("list one conversation", "find one by _id", "update one by _id", "append one message")
_appended = itertools.count(1000)  # indexes past any prefilled ones, unique across sizes

TARGETS_MS = {"list one conversation": 20.0, "find one by _id": 2.0, "update one by _id": 2.0,
              "append one message": 2.0}


async def timed(samples: int, budget: float, operation) -> float:
    """Median milliseconds of `operation(i)` over up to `samples` calls or `budget` seconds (>= 3 calls)."""
    durations: list[float] = []
    started = time.perf_counter()
    for i in range(samples):
        begin = time.perf_counter()
        await operation(i)
        durations.append((time.perf_counter() - begin) * 1000)
        if i >= 2 and time.perf_counter() - started > budget:
            break
    return statistics.median(durations)


async def measure(store, ids: list, conversations: list, samples: int, budget: float) -> dict[str, float]:
    messages = store.db["messages"]

    async def append(i: int) -> None:
        cid = conversations[(i * 31) % len(conversations)]
        assert await store.messages.append(Message(cid, next(_appended), 0, "guard", "Guard_101", message_text(i)))

    await store.messages.list(conversations[0])  # warm up the connection and FerretDB's metadata
    return {
        "list one conversation": await timed(samples, budget,
                                             lambda i: store.messages.list(conversations[(i * 7) % len(conversations)])),
        "find one by _id": await timed(samples, budget, lambda i: messages.find_one({"_id": ids[(i * 13) % len(ids)]})),
        "update one by _id": await timed(samples, budget, lambda i: messages.update_one(
            {"_id": ids[(i * 17) % len(ids)]}, {"$set": {"latency": i / 1000}})),
        "append one message": await timed(samples, budget, append),
    }


async def autovacuum_done(store, limit: float = 600.0) -> float:
    """Seconds until PostgreSQL's autovacuum has no worker left (0 on other stores). A bulk fill
    makes it vacuum and analyse the new rows; measuring while it runs measures that, not the
    store as it is once it has grown at a study's pace (at 10^6 messages a find by _id took 28 ms
    during it, 1.1 ms after)."""
    from simulator.store import postgres_indexes

    cluster = await postgres_indexes.read_record(store.db)
    if cluster is None or not store.server.backend.startswith("PostgreSQL"):
        return 0.0
    started = time.perf_counter()
    await asyncio.sleep(2)  # autovacuum wakes every few seconds (autovacuum_naptime)
    while time.perf_counter() - started < limit:
        busy = await postgres_indexes.run_psql(
            cluster, "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'autovacuum worker'")
        if busy.strip() in ("0", ""):
            break
        await asyncio.sleep(1)
    return time.perf_counter() - started


async def run_backend(backend: str, sizes: list[int], samples: int, budget: float) -> dict[int, dict[str, float]]:
    results: dict[int, dict[str, float]] = {}
    ids: list = []
    conversations: list = []
    async with bench_store(backend) as (store, _settings, _experiment):
        filled = 0
        for size in sizes:
            started = time.perf_counter()
            more_ids, more_conversations = await prefill_messages(store, size - filled)
            ids, conversations, filled = ids + more_ids, conversations + more_conversations, size
            print(f"{backend}: {size:,} messages stored (filled in {time.perf_counter() - started:.0f} s)", flush=True)
            settled = await autovacuum_done(store)
            if settled:
                print(f"  autovacuum finished with the fill {settled:.0f} s later", flush=True)
            results[size] = await measure(store, ids, conversations, samples, budget)
            print("  " + "; ".join(f"{op} {ms:.2f} ms" for op, ms in results[size].items()), flush=True)
    return results


def report(results: dict[str, dict[int, dict[str, float]]], sizes: list[int]) -> None:
    smallest, largest = sizes[0], sizes[-1]
    print(f"\nmedian milliseconds; ratio = {largest:,} / {smallest:,}")
    header = "| operation | backend | " + " | ".join(f"{s:,}" for s in sizes) + " | ratio | target at largest |"
    print(header)
    print("|" + " --- |" * (header.count("|") - 1))
    for op in OPERATIONS:
        for backend, by_size in results.items():
            figures = [by_size[s][op] for s in sizes]
            ratio = figures[-1] / figures[0]
            target = f"<= {TARGETS_MS[op]:g} ms and ratio <= 2" if backend == "postgresql" else ""
            print(f"| {op} | {backend} | " + " | ".join(f"{f:.2f}" for f in figures) + f" | {ratio:.2f}x | {target} |")
    if {"postgresql", "sqlite"} <= results.keys():
        print(f"\nSQLite / PostgreSQL at {largest:,}: " + "; ".join(
            f"{op} {results['sqlite'][largest][op] / results['postgresql'][largest][op]:.0f}x" for op in OPERATIONS))


async def main(sizes: list[int], backends: list[str], samples: int, budget: float) -> None:
    results = {backend: await run_backend(backend, sizes, samples, budget) for backend in backends}
    report(results, sizes)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--backends", default="postgresql,sqlite")
    parser.add_argument("--samples", type=int, default=50)
    parser.add_argument("--budget", type=float, default=20.0, help="seconds per measurement (at least 3 samples)")
    args = parser.parse_args()
    aio.run(main(sorted(int(s) for s in args.sizes.split(",")), args.backends.split(","), args.samples, args.budget))
