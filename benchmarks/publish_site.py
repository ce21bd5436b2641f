"""`simulator publish` of a 1,000-conversation batch: seconds and the site's size (target: under 60 s).

A batch of --cells role-experiment cells (1v1 and 2v1 guard/prisoner over the small prison
experiment's two LLM settings, 6 messages and one day summary each) is run on the instant
model into a fresh database (a private FerretDB on PostgreSQL unless --uri names a server),
then published, analysis included, as the command does it. Printed: the time to run the
batch (setup, not measured), the time to publish, files, the site's size, and the load
average (other work on the 2 cores slows every figure).

    .venv/bin/python benchmarks/publish_site.py [--cells 1000] [--uri mongodb://127.0.0.1:27017]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from _support import InstantModel, bench_store

from simulator import aio
from simulator.batch.plan import create_batch
from simulator.batch.runner import run_batch
from simulator.llm.factory import ModelSettings
from simulator.protocols.roles import role_batch
from simulator.web.database import open_read_only
from simulator.web.publish import publish


async def main_async(cells: int, uri: str | None) -> None:
    async with bench_store(uri=uri) as (store, settings, experiment):
        started = time.perf_counter()
        repeats = max(1, cells // 4)  # 2 LLM settings x 2 agent counts per repeat
        plan = role_batch(llms=experiment.experiment.llms, max_agents={"guard": 2, "prisoner": 1},
                          every_combination=True, n_messages=6, repeats=repeats, seed=3)
        planned = await create_batch(store, settings.user, experiment, plan)
        await run_batch(store, settings, planned.id, ModelSettings(), model_for=lambda cid: InstantModel())
        print(f"batch of {repeats * 4} conversations run in {time.perf_counter() - started:.1f} s (setup)")
        reader = await open_read_only(settings)
        try:
            with tempfile.TemporaryDirectory() as folder:
                done = await publish(reader, [str(planned.id)], Path(folder) / "site")
                print(f"published {done.conversations} conversations: {done.seconds:.1f} s, {done.files} files, "
                      f"{done.bytes / 1e6:.1f} MB; notes: {list(done.notes) or 'none'}")
        finally:
            await reader.close()
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", type=int, default=1000)
    parser.add_argument("--uri", help="a running MongoDB-compatible server (default: a private FerretDB)")
    args = parser.parse_args()
    aio.run(main_async(args.cells, args.uri))


if __name__ == "__main__":
    main()
