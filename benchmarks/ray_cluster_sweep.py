"""The 64 x 20 sweep at 100 ms on a Ray cluster of two nodes against one node, on this machine.

The cluster is the one `scripts/services.py ray up` starts (scripts/ray_cluster.py: the head at
127.0.0.2, a second node at 127.0.0.3), torn down and started again for each configuration, and
the batch runs through the same Ray actors as `simulator batch --ray ADDRESS` (two actors: both on
the head, or one per node), against one FerretDB on PostgreSQL and the slow endpoint (every call
answered after 100 ms). Printed per run: the sweep (first cell started to last cell finished) and
the whole run with the actors' start, each against the ideal of 21 calls x 100 ms = 2.1 s, the
actors' CPU per model call, how far apart the two actors started and the calls each node answered;
then the two-node / one-node ratio of the median sweep. Both nodes
share this machine's cores, so the ratio measures what a second node costs or saves here, not the
speed-up of a second machine.

    .venv/bin/python benchmarks/ray_cluster_sweep.py [--rounds 2] [--actors 2]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

from _support import ROOT, SlowEndpoint, bench_ferretdb
from workers_sweep import CALLS, CONVERSATIONS, DELAY, IDEAL, MESSAGES, planned_batch, sweep_seconds

sys.path.insert(0, str(ROOT / "scripts"))
import ray_cluster  # noqa: E402


async def on_cluster(uri: str, endpoint: str, address: str, actors: int) -> dict:
    import ray

    from simulator.batch.ray_runner import RayWorkers
    from simulator.batch.workers import WorkerJob, shares

    store, settings, batch_id = await planned_batch(uri, endpoint)
    try:
        job = WorkerJob(settings=settings, batch_id=batch_id, run=uuid.uuid4().hex[:8], concurrency=CONVERSATIONS)
        started = time.perf_counter()
        workers = RayWorkers(shares(job, actors), address)
        while workers.running():
            await asyncio.sleep(0.05)
        workers.join()
        command = time.perf_counter() - started
        ray.shutdown()
        records = await store.workers.of_batch(batch_id)
        calls = sum(r.calls for r in records)
        assert calls == CALLS, f"{calls} calls answered, expected {CALLS}"
        starts = [r.started_at for r in records]
        return {"sweep": await sweep_seconds(store, batch_id), "command": command,
                "cpu_ms": 1000 * sum(r.cpu_seconds for r in records) / calls,
                "nodes": sorted({r.node for r in records}), "apart": (max(starts) - min(starts)).total_seconds(),
                "calls": {r.node: r.calls for r in records} if len({r.node for r in records}) > 1 else {}}
    finally:
        await store.client.drop_database(settings.db_name)
        await store.close()


def run(uri: str, endpoint: str, state: Path, nodes: int, actors: int) -> dict:
    from simulator import aio

    address = ray_cluster.up(state, nodes, ray_cluster.free_port(ray_cluster.HEAD_ADDRESS))
    try:
        return aio.run(on_cluster(uri, endpoint, address, actors))
    finally:
        ray_cluster.down(state)


def show(label: str, figures: dict) -> None:
    print(f"{label:<22} sweep {figures['sweep']:.2f} s = {figures['sweep'] / IDEAL:.2f}x   with the actors' start "
          f"{figures['command']:.2f} s   actors' CPU per call {figures['cpu_ms']:.2f} ms   actors started "
          f"{figures['apart']:.1f} s apart   calls per node {figures['calls'] or figures['nodes']}", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--actors", type=int, default=2)
    args = parser.parse_args()
    print(f"{CONVERSATIONS} conversations x {MESSAGES} messages at {DELAY * 1000:.0f} ms a call: ideal {IDEAL:.1f} s; "
          f"{len(os.sched_getaffinity(0))} cores; load average {os.getloadavg()[0]:.1f} before starting", flush=True)
    endpoint = SlowEndpoint(DELAY)
    runs: dict[int, list[dict]] = {1: [], 2: []}
    try:
        with bench_ferretdb() as uri, tempfile.TemporaryDirectory(prefix="sim-bench-ray-") as tmp:
            state = Path(tmp)  # one folder, so one token, for every cluster of the run
            ray_cluster.temp_dir(state).mkdir()
            ray_cluster.ensure_token(state)
            os.environ.update(ray_cluster.auth_env(state))  # this process is the batches' driver, before Ray loads
            for _ in range(args.rounds):
                for nodes in (1, 2):
                    runs[nodes].append(run(uri, endpoint.url, state, nodes, args.actors))
                    show(f"{nodes} node(s), {args.actors} actors", runs[nodes][-1])
    finally:
        endpoint.close()
    one, two = (statistics.median(r["sweep"] for r in runs[n]) for n in (1, 2))
    print(f"median sweep: one node {one:.2f} s ({one / IDEAL:.2f}x the ideal), two nodes {two:.2f} s "
          f"({two / IDEAL:.2f}x); two nodes / one node = {two / one:.2f} ({args.rounds} alternated rounds)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
